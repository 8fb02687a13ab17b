import subprocess
import sys
from pathlib import Path

import pytest

from harbor_twisted.config import ConfigError, build_config, load_config
from harbor_twisted.db.migrate import head_revision
from harbor_twisted.storage.drivers import s3_settings


def test_defaults_put_sqlite_in_the_data_directory(tmp_path):
    config = build_config({"data": str(tmp_path)})
    assert config.port == 8080
    assert config.effective_database_url == f"sqlite:///{tmp_path / 'registry.db'}"
    assert config.blob_serving == "direct"
    assert config.manifest_max_bytes == 4 * 1024 * 1024


def test_yaml_file_is_read_and_environment_overrides_it(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("port: 9000\nlog_level: debug\ndata: /srv/x\n")
    config = load_config(path, environ={"HT_PORT": "9100", "HT_DATA": "/srv/y"})
    assert config.port == 9100
    assert config.log_level == "debug"
    assert config.data == Path("/srv/y")


def test_postgresql_url_gets_the_psycopg_driver():
    config = build_config({"database_url": "postgresql://u@db:5432/harbor"})
    assert config.database_url == "postgresql+psycopg://u@db:5432/harbor"


@pytest.mark.parametrize(
    ("values", "key"),
    [
        ({"port": "eighty"}, "port"),
        ({"port": 70000}, "port"),
        ({"port": True}, "port"),
        ({"log_level": "loud"}, "log_level"),
        ({"log_format": "xml"}, "log_format"),
        ({"blob_serving": "sendfile"}, "blob_serving"),
        ({"x_accel_prefix": "relative"}, "x_accel_prefix"),
        ({"external_url": "registry.example.com"}, "external_url"),
        ({"trusted_proxies": ["10.0.0.0/8", "not-an-ip"]}, "trusted_proxies"),
        ({"database_url": "mysql://x"}, "database_url"),
        ({"manifest_max_bytes": 10}, "manifest_max_bytes"),
        ({"upload_expiry_seconds": 0}, "upload_expiry_seconds"),
        ({"auto_migrate": "perhaps"}, "auto_migrate"),
        ({"colour": "blue"}, "colour"),
        ({"storage_driver": "nfs"}, "storage_driver"),
        ({"s3_part_size_mb": 4}, "s3_part_size_mb"),
        ({"s3_endpoint": "rgw:7480"}, "s3_endpoint"),
        ({"blob_serving": "redirect"}, "blob_serving"),  # a filesystem has no URL to sign
        ({"storage_driver": "s3", "s3_access_key_file": "a", "s3_secret_key_file": "s"},
         "s3_bucket"),
        ({"storage_driver": "s3", "s3_bucket": "b", "s3_secret_key_file": "s"},
         "s3_access_key_file"),
        ({"storage_driver": "s3", "s3_bucket": "b", "s3_access_key_file": "a",
          "s3_secret_key_file": "s", "blob_serving": "x-accel-redirect"}, "blob_serving"),
    ],
)
def test_bad_setting_is_refused_with_its_key_named(values, key):
    with pytest.raises(ConfigError) as raised:
        build_config(values)
    assert str(raised.value).startswith(f"{key}:")


def test_s3_settings_with_key_files_relative_to_the_secrets_directory(tmp_path):
    config = build_config({
        "storage_driver": "s3", "s3_bucket": "blobs", "s3_part_size_mb": "8",
        "s3_access_key_file": "s3_access_key", "s3_secret_key_file": "/etc/ht/secret",
        "secrets_dir": str(tmp_path), "blob_serving": "redirect", "s3_path_style": "false",
    })
    settings = s3_settings(config)
    assert settings.part_size == 8 * 1024 * 1024
    assert settings.access_key_file == tmp_path / "s3_access_key"
    assert str(settings.secret_key_file) == "/etc/ht/secret"
    assert (config.storage_driver, settings.path_style, settings.region) == ("s3", False,
                                                                             "us-east-1")


def test_bad_environment_override_names_the_key():
    with pytest.raises(ConfigError, match=r"^port:"):
        load_config(None, environ={"HT_PORT": "-1"})


def test_non_mapping_yaml_is_refused(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_config(path, environ={})


def test_trusted_proxies_accept_networks():
    config = build_config({"trusted_proxies": "127.0.0.1, 10.0.0.0/8"})
    assert config.is_trusted_proxy("10.2.3.4")
    assert config.is_trusted_proxy("127.0.0.1")
    assert not config.is_trusted_proxy("192.168.1.1")
    assert not config.is_trusted_proxy("garbage")


def test_cli_fails_at_start_naming_the_bad_key(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("port: 8080\nblob_serving: magic\n")
    result = subprocess.run(
        [sys.executable, "-m", "harbor_twisted.cli", "registry", "--config", str(path)],
        capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 2
    assert "blob_serving" in result.stderr


def test_cli_migrate_creates_and_reruns_cleanly(tmp_path):
    env = {"HT_DATA": str(tmp_path), "PATH": "/usr/bin:/bin"}
    for _ in range(2):
        result = subprocess.run(
            [sys.executable, "-m", "harbor_twisted.cli", "migrate"],
            capture_output=True, text=True, timeout=60, env=env,
        )
        assert result.returncode == 0, result.stderr
        assert f"revision {head_revision()}" in result.stdout
    assert (tmp_path / "registry.db").exists()
    # and the token signing key, so a registry process started next finds its certificate
    assert (tmp_path / "secrets" / "token_signing_cert.pem").exists()


def test_admin_reset_password_refuses_weak_passwords_and_unknown_users(tmp_path):
    env = {"HT_DATA": str(tmp_path), "PATH": "/usr/bin:/bin"}
    command = [sys.executable, "-m", "harbor_twisted.cli", "admin", "reset-password"]
    weak = subprocess.run(command, input="weak\n", capture_output=True, text=True, timeout=60,
                          env=env)
    assert weak.returncode == 1
    assert "password" in weak.stderr
    missing = subprocess.run([*command, "--username", "nobody"], input="Strong12345\n",
                             capture_output=True, text=True, timeout=60, env=env)
    assert missing.returncode == 1
    assert "no database user" in missing.stderr


def test_admin_reset_password_for_an_existing_admin(tmp_path):
    from sqlalchemy import create_engine, select

    from harbor_twisted.auth.passwords import verify_password
    from harbor_twisted.core.identity import IdentityService
    from harbor_twisted.db.engine import Database, make_engine
    from harbor_twisted.db.identity_models import user
    from harbor_twisted.db.migrate import upgrade

    (tmp_path / "pw").write_text("First12345\n")
    config = build_config({"data": str(tmp_path), "admin_password_file": str(tmp_path / "pw")})
    engine = make_engine(config.effective_database_url, 1)
    upgrade(engine)
    IdentityService(Database(engine, 1), config).bootstrap_sync()
    engine.dispose()
    result = subprocess.run(
        [sys.executable, "-m", "harbor_twisted.cli", "admin", "reset-password"],
        input="Second12345\n", capture_output=True, text=True, timeout=60,
        env={"HT_DATA": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    check = create_engine(config.effective_database_url)
    with check.connect() as conn:
        stored = conn.execute(
            select(user.c.password_hash).where(user.c.username == "admin")).scalar_one()
    check.dispose()
    assert verify_password(stored, "Second12345")
    assert "Second12345" not in stored


def test_first_start_without_an_admin_password_fails_cleanly(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "harbor_twisted.cli", "all-in-one"],
        capture_output=True, text=True, timeout=60,
        env={"HT_DATA": str(tmp_path), "HT_PORT": "0", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 1
    assert "admin_password_file" in result.stderr


def test_metrics_are_off_by_default_on_harbors_port_and_path():
    config = build_config({})
    assert (config.metrics_enabled, config.metrics_port, config.metrics_path) == (
        False, 9090, "/metrics")
    assert config.effective_metrics_address == config.listen_address
    assert build_config({"metrics_listen_address": "0.0.0.0"}).effective_metrics_address == (
        "0.0.0.0")


@pytest.mark.parametrize(("values", "key"), [
    ({"metrics_path": "metrics"}, "metrics_path"),
    ({"metrics_path": "/m?x=1"}, "metrics_path"),
    ({"metrics_port": 70000}, "metrics_port"),
    ({"metrics_enabled": "maybe"}, "metrics_enabled"),
    ({"metrics_enabled": True, "port": 9100, "metrics_port": 9100}, "metrics_port"),
])
def test_bad_metrics_settings_name_their_key(values, key):
    with pytest.raises(ConfigError, match=f"^{key}:"):
        build_config(values)
