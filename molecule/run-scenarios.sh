#!/usr/bin/env bash
# Run Molecule scenarios with `molecule test`: destroy (leftovers of a killed run), create,
# [prepare,] converge, idempotence (0 changed), verify, destroy.
#
#   molecule/run-scenarios.sh [ROLE:SCENARIO ...]      default: every scenario
#
# ROLE:SCENARIO is roles/ROLE/molecule/SCENARIO; site:SCENARIO is a scenario of the whole
# repository, molecule/SCENARIO (site:default converges playbooks/site.yml on three hosts,
# site:photon on the photon-dressed image, site:ha the scale-out site on six hosts). With no
# argument every scenario runs, the longest first.
# Each scenario's output goes to build/molecule/ROLE-SCENARIO.log; of a failed scenario,
# its failed tasks and the end of its log are printed. MOLECULE_JOBS=N runs N scenarios at a
# time (default 3). Ends with "molecule: N passed, N failed" and exits non-zero when any
# scenario failed.
set -uo pipefail
shopt -s nullglob  # no scenario directory: no scenario, not a literal pattern
cd "$(dirname "$0")/.."
root=$PWD
venv=${ANSIBLE_VENV:-$root/.venv-ansible}
jobs=${MOLECULE_JOBS:-3}
logs=$root/build/molecule
mkdir -p "$logs"

export PATH="$venv/bin:$PATH" NO_COLOR=1 ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 PY_COLORS=0
export DOCKER_BUILDKIT=0
# Loaded by every scenario's Ansible: keeps exec output the Docker API connection would lose
# on a loaded machine (molecule/resources/callback_plugins/docker_api_output.py).
export ANSIBLE_CALLBACK_PLUGINS=$root/molecule/resources/callback_plugins${ANSIBLE_CALLBACK_PLUGINS:+:$ANSIBLE_CALLBACK_PLUGINS}

scenarios=("$@")
# Longest first, so the short ones fill the gaps: the six-host scale-out site, the upgrade +
# backup/restore run, the three-host site, the role's two converges with LDAP and the
# appliance's first boot, the Photon-dressed site, then the other per-role scenarios.
first=" site:ha harbor_registry:upgrade site:default harbor_registry:default site:photon "
if ((${#scenarios[@]} == 0)); then
  for name in $first; do
    scenarios+=("$name")
  done
  for file in molecule/*/molecule.yml roles/*/molecule/*/molecule.yml; do
    dir=${file%/molecule.yml}
    if [[ $dir == molecule/* ]]; then
      name="site:${dir##*/}"
    else
      role=${dir%%/molecule/*}
      name="${role#roles/}:${dir##*/}"
    fi
    [[ $first == *" $name "* ]] || scenarios+=("$name")
  done
fi
for name in "${scenarios[@]}"; do  # every named scenario must exist (a typo is a failure)
  role=${name%%:*} scenario=${name##*:}
  if [[ $role == site ]]; then dir=molecule/$scenario; else dir=roles/$role/molecule/$scenario; fi
  [[ -f $dir/molecule.yml ]] || { echo "molecule: no scenario $name ($dir/molecule.yml)"; exit 1; }
done

# The harbor_registry, ceph_rgw (a registry on S3) and site scenarios install the offline
# bundle: build it once (reused while the sources are unchanged) before any scenario starts.
if printf '%s\n' "${scenarios[@]}" | grep -qE '^(harbor_registry|ceph_rgw|site):'; then
  bash scripts/build-bundle.sh || { echo "molecule: 0 passed, ${#scenarios[@]} failed (no bundle)"; exit 1; }
fi

# The scenarios' container names are fixed: one run at a time on this Docker daemon.
exec 8>/tmp/harbor-twisted-molecule.lock
if ! flock -n 8; then
  echo "[molecule] another run holds /tmp/harbor-twisted-molecule.lock; waiting"
  flock 8
fi

run_one() { # ROLE:SCENARIO -> writes LOG, returns molecule's status
  local role=${1%%:*} scenario=${1##*:} log start status
  log="$logs/$role-$scenario.log"
  start=$(date +%s)
  (
    if [[ $role == site ]]; then cd "$root"; else cd "roles/$role"; fi && molecule test -s "$scenario"
  ) >"$log" 2>&1
  status=$?
  echo "$status $(($(date +%s) - start))" >"$log.result"
  return "$status"
}

echo "[molecule] ${#scenarios[@]} scenario(s), $jobs at a time; logs in build/molecule/"
pids=()
for item in "${scenarios[@]}"; do
  while (($(jobs -rp | wc -l) >= jobs)); do wait -n; done  # statuses are read from the .result files
  run_one "$item" &
  pids+=($!)
done
wait

passed=0
failed=0
for item in "${scenarios[@]}"; do
  role=${item%%:*} scenario=${item##*:}
  log="$logs/$role-$scenario.log"
  read -r status seconds <"$log.result" || { status=1; seconds=0; }
  if [[ $status == 0 ]]; then
    passed=$((passed + 1))
    echo "[molecule] PASS $role/$scenario (${seconds}s)"
  else
    failed=$((failed + 1))
    echo "[molecule] FAIL $role/$scenario (${seconds}s): the failed tasks, then the last lines of $log" >&2
    # The cause sits in the failing task, often far above the recap: print each with its task.
    grep -n -B 3 -A 25 -E '^(fatal|failed): ' "$log" | head -n 200 >&2
    tail -n 40 "$log" >&2
  fi
done
echo "molecule: $passed passed, $failed failed"
((failed == 0))
