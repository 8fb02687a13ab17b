#!/usr/bin/env bash
# Build the offline installation bundle: a tarball holding the wheel of harbor-twisted (built
# from this working tree) and the wheelhouse of every dependency, made with `pip wheel`.
# The harbor_registry role installs it with `pip install --no-index --find-links`.
#
#   scripts/build-bundle.sh            -> build/bundle/harbor-twisted-VERSION-PLATFORM.tar.gz
#                                         and the link build/bundle/harbor-twisted-bundle.tar.gz
#   FORCE=1 scripts/build-bundle.sh    rebuild even when the sources did not change
#   scripts/build-bundle.sh --source DIR --out DIR
#                                      build from another source tree (a `git worktree` of an
#                                      earlier commit: the upgrade test) into another folder
#
# A bundle is built for ONE target platform: python-ldap has no portable wheel, so it is
# compiled here from its sdist (needs libldap2-dev libsasl2-dev, and Python 3.11 like the
# targets). Build it on (a machine like) the target: Debian 12 here, for the Debian 12
# stand-ins; a Photon OS 5.0 bundle must be built on Photon (openldap-devel, cyrus-sasl-devel).
# OS packages (nginx, postgresql, logrotate) are not in it: they come from the platform's own
# repositories. The bundle is reused while the sources it is made of are unchanged.
set -euo pipefail
here=$PWD
cd "$(dirname "$0")/.."
root=$PWD
out=$root/build/bundle

log() { printf '[bundle] %s\n' "$*"; }

while (($# > 0)); do
  case $1 in
    --source) cd "$here" && cd "$2" && shift 2 ;;
    --out) out=$(cd "$here" && realpath -m "$2") && shift 2 ;;
    *) log "usage: $0 [--source DIR] [--out DIR]" >&2 && exit 2 ;;
  esac
done
link=$out/harbor-twisted-bundle.tar.gz

python=${PYTHON:-}
for candidate in "$python" python3.11 python3; do
  [[ -n $candidate ]] && command -v "$candidate" >/dev/null || continue
  "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null && python=$candidate && break
done
[[ -n $python ]] || { log "Python 3.11 is required (the targets run 3.11)" >&2; exit 1; }

# What the bundle is made of: the package sources, its metadata and this script.
source_hash=$(
  {
    git ls-files -co --exclude-standard -- pyproject.toml harbor_twisted scripts/build-bundle.sh |
      grep -v -e '__pycache__' -e '\.pyc$' | sort | while read -r f; do [[ -f $f ]] && sha256sum "$f"; done
  } | sha256sum | cut -c1-12
)
version=$(sed -n 's/^version *= *"\(.*\)"/\1/p' pyproject.toml | head -n1)
platform="$(. /etc/os-release && echo "${ID}${VERSION_ID%%.*}")-$(uname -m)"
name=harbor-twisted-$version-$platform
tarball=$out/$name.tar.gz
stamp=$out/.$name.source

if [[ -z ${FORCE:-} && -f $tarball && -f $stamp && $(cat "$stamp") == "$source_hash" ]]; then
  log "reusing $tarball (sources unchanged)"
  ln -sfn "$(basename "$tarball")" "$link"
  exit 0
fi

for header in /usr/include/ldap.h /usr/include/sasl/sasl.h; do
  if [[ ! -e $header ]]; then
    log "python-ldap is compiled here: apt-get install libldap2-dev libsasl2-dev (missing $header)" >&2
    exit 1
  fi
done

work=$(mktemp -d /var/tmp/ht-bundle.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out" "$work/harbor-twisted-bundle/wheelhouse"
log "building $name (pip wheel: harbor-twisted and every dependency)"
"$python" -m venv "$work/venv"
# pip's output (setuptools' deprecation notes included) goes to a log, shown on failure.
if ! { "$work/venv/bin/pip" install -q --disable-pip-version-check --upgrade pip wheel &&
  "$work/venv/bin/pip" wheel -q --disable-pip-version-check \
    --wheel-dir "$work/harbor-twisted-bundle/wheelhouse" .; } >"$work/pip.log" 2>&1; then
  cat "$work/pip.log" >&2
  log "pip wheel failed" >&2
  exit 1
fi
wheel=$(ls "$work/harbor-twisted-bundle/wheelhouse"/harbor_twisted-"$version"-*.whl 2>/dev/null | head -n1)
[[ -n $wheel ]] || { log "pip wheel did not produce the harbor-twisted wheel" >&2; exit 1; }
ls "$work/harbor-twisted-bundle/wheelhouse"/python_ldap-*.whl >/dev/null 2>&1 ||
  log "note: no python-ldap wheel in the bundle (not a dependency of this version)"
cat >"$work/harbor-twisted-bundle/requirements.txt" <<EOF
harbor-twisted==$version
EOF
cat >"$work/harbor-twisted-bundle/BUNDLE" <<EOF
name=$name
version=$version
platform=$platform
python=$("$python" -c 'import platform; print(platform.python_version())')
source=$source_hash
wheel=$(basename "$wheel")
EOF
# Stable member order, owners and times: the same wheels give the same tarball.
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$work" -cf - harbor-twisted-bundle |
  gzip -n >"$tarball.tmp"
mv "$tarball.tmp" "$tarball"
echo "$source_hash" >"$stamp"
ln -sfn "$(basename "$tarball")" "$link"
log "built $tarball ($(du -h "$tarball" | cut -f1), $(ls "$work/harbor-twisted-bundle/wheelhouse" | wc -l) wheels)"
