"""The portal in a real browser (Debian's chromium through Selenium), as a new user would
use it: an LDAP user signs in, creates a project, pushes with the docker CLI, finds the
image through search and reads its digest and pull command; a group becomes a member; a
Maintainer deletes a tag; a Guest sees no delete button and a forged POST answers 403;
signing out and an expired session lead back to the sign-in page.

Every page visited is screenshotted under build/screenshots/ and checked with axe-core."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.portal.browser import Browser, browser_problem, start_browser
from tests.support import ldap_directory as example
from tests.support.images import docker, docker_daemon_problem, ensure_multilayer_image
from tests.support.server import RegistryServer, start_server
from tests.support.slapd import Slapd, slapd_problem
from tests.support.tls_ca import make_server_certificate

pytestmark = pytest.mark.docker

PUSHED_DIGEST = re.compile(r"digest: (sha256:[0-9a-f]{64})")
MAINTAINER, GUEST = "4", "3"


class Story:
    """What the earlier steps made, for the later ones."""

    project = f"portal-{secrets.token_hex(3)}"
    repository = f"web-{secrets.token_hex(3)}"
    digest = ""

    @classmethod
    def artifact_path(cls) -> str:
        return (f"/harbor/projects/{cls.project}/repositories/{cls.repository}"
                f"/-/artifacts/{cls.digest}")


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    problem = slapd_problem() or docker_daemon_problem() or browser_problem()
    if problem is not None:
        pytest.fail(problem, pytrace=False)
    server = example.start_example_directory(tmp_path_factory.mktemp("slapd-portal"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def server(directory: Slapd, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[RegistryServer]:
    data_dir = tmp_path_factory.mktemp("portal-registry")
    example.write_search_password(data_dir / "secrets" / "ldap_search_password")
    ca_file = make_server_certificate(tmp_path_factory.mktemp("portal-tls")).ca_file
    started = start_server(data_dir, "", {**example.ldap_settings(directory),
                                          "HT_CA_CERTIFICATE_FILE": str(ca_file)})
    yield started
    assert started.stop() == 0, started.log_text()[-4000:]


@pytest.fixture(scope="module")
def browser(server: RegistryServer) -> Iterator[Browser]:
    driver = start_browser()
    try:
        yield Browser(driver, server.url)
    finally:
        driver.quit()


def _sign_in(browser: Browser, person: example.Person, next_path: str = "") -> None:
    browser.open(f"/harbor/sign-in?next={next_path}" if next_path else "/harbor/sign-in")
    browser.fill("#principal", person.uid)
    browser.fill("#password", person.password)
    browser.click("#sign-in")
    browser.find("#current-user")
    assert browser.find("#current-user").text == person.uid


def _sign_out(browser: Browser) -> None:
    browser.click("#sign-out")
    browser.find("#sign-in")
    assert "You have signed out" in browser.text()


def test_ldap_user_signs_in_through_the_form(browser: Browser) -> None:
    browser.open("/")
    browser.find("#sign-in")
    assert browser.path().startswith("/harbor/sign-in?next=")
    browser.check_page("sign-in")
    browser.click("#certificate-link")
    assert browser.find("#download-ca").get_attribute("href").endswith(
        "/api/v2.0/systeminfo/getcert")
    browser.check_page("certificate")
    browser.open("/harbor/sign-in?next=%2Fharbor%2Fprojects")
    browser.fill("#principal", example.CAROL.uid)
    browser.fill("#password", "not-the-password")
    browser.click("#sign-in")
    assert "Invalid user name or password" in browser.find("#sign-in-error").text
    browser.check_page("sign-in-failed")
    browser.fill("#password", example.CAROL.password)
    browser.click("#sign-in")
    assert browser.find("#current-user").text == "carol"
    assert browser.path() == "/harbor/projects"
    browser.check_page("projects")


def test_ldap_user_creates_a_project(browser: Browser) -> None:
    browser.click("#new-project summary")
    browser.fill("#project_name", Story.project)
    browser.click("#create-project")
    browser.wait_for_text(".flash-notice", f"Project {Story.project} created.")
    assert browser.path() == f"/harbor/projects/{Story.project}"
    browser.check_page("project-empty")


def test_pushed_image_is_found_through_search(browser: Browser, server: RegistryServer,
                                              tmp_path: Path) -> None:
    config = {"DOCKER_CONFIG": str(tmp_path)}
    login = docker("login", "--username", example.CAROL.uid, "--password-stdin", server.host,
                   env=config, stdin=example.CAROL.password, check=False)
    assert login.returncode == 0, login.stdout + login.stderr
    target = f"{server.host}/{Story.project}/{Story.repository}:v1"
    docker("tag", ensure_multilayer_image().reference, target)
    try:
        pushed = docker("push", target, env=config)
    finally:
        docker("rmi", target, check=False)
    found = PUSHED_DIGEST.search(pushed.stdout)
    assert found, pushed.stdout
    Story.digest = found.group(1)

    browser.fill("#global-search", Story.repository)
    browser.click(".search button")
    browser.find("#repository-results")
    browser.check_page("search")
    browser.click(f"#repository-results a[href$='/{Story.repository}']")
    browser.find("a.digest")
    assert "v1" in browser.text()
    browser.check_page("repository")


def test_artifact_page_shows_the_pushed_digest_and_pull_command(
        browser: Browser, server: RegistryServer) -> None:
    browser.click("a.digest")
    assert browser.find("#digest").text == Story.digest
    assert browser.find("#pull-command").text == (
        f"docker pull {server.host}/{Story.project}/{Story.repository}@{Story.digest}")
    assert browser.path() == Story.artifact_path()
    # the portal's one script ran under the strict CSP: it revealed the Copy buttons
    copy = browser.find("button.copy[data-copy=digest]")
    assert copy.is_displayed()
    browser.check_page("artifact")
    browser.fill("#new-tag", "stable")
    browser.click("#add-tag")
    browser.wait_for_text(".flash-notice", "Tag stable added.")


def test_project_admin_adds_a_group_and_a_user_as_members(
        browser: Browser, server: RegistryServer) -> None:
    for person in (example.ALICE, example.ERIN):  # a first login onboards users and groups
        me = requests.get(f"{server.url}/api/v2.0/users/current", timeout=30,
                          auth=(person.uid, person.password))
        assert me.status_code == 200, me.text
    browser.open(f"/harbor/projects/{Story.project}/members")
    browser.check_page("members")
    for kind, name, role in (("group", example.DEVELOPERS, MAINTAINER),
                             ("user", example.ERIN.uid, GUEST)):
        browser.click("#add-member summary")
        if kind == "group":
            browser.click("#member-type-group")
        browser.fill("#member_name", name)
        Select(browser.find("#member_role")).select_by_value(role)
        browser.click("#add-member-submit")
        browser.wait_for_text(".flash-notice", f"{name} added as")
    rows = browser.text()
    assert "developers" in rows and "Group" in rows and "erin" in rows
    browser.check_page("members-added")


def test_project_admin_creates_a_robot_account_and_sees_the_secret_once(
        browser: Browser) -> None:
    browser.open(f"/harbor/projects/{Story.project}/robots")
    browser.click("#new-robot summary")
    browser.fill("#robot-name", "ci")
    browser.click("#perm-repository-push")
    browser.click("#create-robot")
    assert browser.find("#robot-name-created").text == f"robot${Story.project}+ci"
    secret = browser.find("#robot-secret").text
    assert len(secret) >= 16
    browser.check_page("robot-created")
    browser.open(f"/harbor/projects/{Story.project}/robots")
    assert f"robot${Story.project}+ci" in browser.text() and secret not in browser.text()
    browser.check_page("robots")
    browser.open(f"/harbor/projects/{Story.project}/logs")
    assert "create" in browser.find("table").text
    browser.check_page("project-logs")
    browser.open(f"/harbor/projects/{Story.project}/immutability")
    browser.click("#new-rule summary")
    browser.fill("#tag-pattern", "release-*")
    browser.click("#add-rule")
    browser.wait_for_text(".flash-notice", "Rule added.")
    browser.check_page("project-immutability")
    browser.open(f"/harbor/projects/{Story.project}/retention")
    browser.click("#new-retention-rule summary")
    browser.fill("#new-value", "5")
    browser.click("#add-retention-rule")
    browser.wait_for_text(".flash-notice", "Rule added.")
    assert "retain the most recently pushed 5 artifacts" in browser.find("#retention-rules").text
    browser.click("#retention-dry-run")
    browser.wait_for_text(".flash-notice", "Dry run started.")
    browser.check_page("project-retention")
    browser.click("a[id^=retention-execution-]")
    browser.find("#retention-status")
    browser.check_page("project-retention-run")
    browser.open(f"/harbor/projects/{Story.project}/webhooks")
    browser.click("#new-webhook summary")
    browser.check_page("project-webhooks")


def test_maintainer_deletes_a_tag_after_confirming(browser: Browser) -> None:
    _sign_out(browser)
    _sign_in(browser, example.ALICE)
    browser.open(Story.artifact_path())
    browser.click("#delete-tag-stable")
    assert "Delete the tag stable" in browser.find("#confirm-question").text
    browser.check_page("confirm-delete-tag")
    browser.click("#confirm")
    browser.wait_for_text(".flash-notice", "Tag stable deleted.")
    assert not browser.find_all("#delete-tag-stable")
    assert browser.find_all("#delete-tag-v1")


def test_guest_sees_no_delete_button_and_a_forged_post_gets_403(browser: Browser) -> None:
    _sign_out(browser)
    _sign_in(browser, example.ERIN)
    browser.open(Story.artifact_path())
    assert browser.find("#digest").text == Story.digest
    for hidden in ("#delete-tag-v1", "#delete-artifact", "#add-tag"):
        assert not browser.find_all(hidden), hidden
    browser.check_page("artifact-as-guest")
    browser.driver.execute_script(
        "const form = document.createElement('form');"
        "form.method = 'post'; form.action = arguments[0];"
        "const token = document.querySelector('input[name=_csrf]').cloneNode();"
        "form.appendChild(token); document.body.appendChild(form); form.submit();",
        Story.artifact_path() + "/delete")
    WebDriverWait(browser.driver, 10).until(lambda d: "Status 403" in browser.text())
    assert browser.find("h1").text == "Not allowed"
    browser.check_page("forbidden")
    browser.open(Story.artifact_path())
    assert browser.find("#digest").text == Story.digest  # still there


def test_admin_runs_garbage_collection_and_reads_its_log(browser: Browser,
                                                        server: RegistryServer) -> None:
    _sign_out(browser)
    _sign_in(browser, example.Person("admin", server.admin_password, "Admin"))
    for path, name in (("/harbor/admin/users", "admin-users"),
                       ("/harbor/admin/groups", "admin-groups"),
                       ("/harbor/admin/replication", "admin-replication"),
                       ("/harbor/admin/settings", "admin-settings"),
                       ("/harbor/admin/audit-log", "admin-audit-log")):
        browser.open(path)
        browser.find("h1")
        browser.check_page(name)
    assert Story.project in browser.text()  # the audit log names the project created above
    browser.open("/harbor/admin/replication")
    browser.click("#new-registry summary")
    browser.fill("#new-registry-name", "myself")
    browser.fill("#new-registry-url", server.url)
    browser.click("#create-registry")
    browser.wait_for_text(".flash-notice", "Registry endpoint myself added.")
    browser.click("#new-policy summary")
    browser.fill("#new-policy-name", "mirror-out")
    browser.fill("#new-policy-namespace", "mirror")
    browser.click("#create-policy")
    browser.wait_for_text(".flash-notice", "Policy mirror-out added.")
    browser.check_page("admin-replication-forms")
    browser.open("/harbor/admin/authentication")
    browser.click("#test-ldap")
    browser.wait_for_text(".flash-notice", "LDAP connection works")
    browser.check_page("admin-authentication")
    browser.open("/harbor/admin/authentication/switch?to=db_auth")  # the dry run only
    assert example.CAROL.uid in browser.find("#switch-needs-reset").text
    browser.check_page("admin-auth-switch")
    browser.open("/harbor/admin/gc")
    browser.click("#gc-run")
    browser.wait_for_text(".flash-notice", "Garbage collection started.")
    browser.check_page("admin-gc")
    browser.click("a[id^=gc-log-]")
    WebDriverWait(browser.driver, 60, poll_frequency=0.5).until(
        lambda _: browser.driver.refresh() or browser.find("#gc-status").text == "Success")
    assert browser.find("#gc-log").text.strip()
    browser.check_page("admin-gc-log")


def test_account_page_says_who_is_signed_in(browser: Browser) -> None:
    browser.click("#current-user")
    assert browser.find("#account-username").text == "admin"
    assert browser.find_all("#change-password")  # admin is a database user
    browser.check_page("account")


def test_sign_out_leads_to_the_sign_in_page(browser: Browser) -> None:
    _sign_out(browser)
    browser.check_page("signed-out")
    browser.open("/harbor/projects")
    browser.find("#sign-in")
    assert browser.path().startswith("/harbor/sign-in")


def test_expired_session_goes_back_to_the_sign_in_page(browser: Browser,
                                                      start_registry) -> None:
    short = start_registry({"HT_SESSION_IDLE_SECONDS": "2"})
    other = Browser(browser.driver, short.url)
    _sign_in(other, example.Person("admin", short.admin_password, "Admin"))
    time.sleep(2.5)
    other.open("/harbor/projects")
    other.find("#sign-in")
    assert "Your session has ended" in other.text()
    assert other.path().startswith("/harbor/sign-in?next=%2Fharbor%2Fprojects")
    other.check_page("session-expired")
