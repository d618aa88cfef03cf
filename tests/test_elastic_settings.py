"""Cluster settings: flags > environment > profile, the config file's permissions, and
secrets that never show (describe, repr, errors)."""

from __future__ import annotations

import os
import stat

import pytest

from collectors.elastic import connect_source
from collectors.elastic.settings import resolve_settings, strip_userinfo
from collectors.result import SourceError

SECRET = "c2VjcmV0LWtleS1pZDpzZWNyZXQta2V5LXZhbHVl"


def write_config(path, text, mode=0o600):
    path.write_text(text, encoding="utf-8")
    os.chmod(path, mode)
    return path


PROFILES = f"""
default_profile = "prod"

[profiles.prod]
url = "https://prod.example.org:9200"
api_key = "{SECRET}"
request_timeout = 45

[profiles.lab]
url = "http://lab.example.org:9200"
username = "analyst"
password = "lab-password-123"
query_timeout = 90
"""


def test_flag_beats_environment_beats_profile(clean_env, tmp_path):
    cfg = write_config(tmp_path / "config.toml", PROFILES)
    env = {"ELASTICSEARCH_URL": "https://env.example.org:9200", "ELASTIC_API_KEY": "env-key"}
    s = resolve_settings(es_url="https://flag.example.org", profile="prod", env=env, config=cfg)
    assert s.url == "https://flag.example.org" and s.origins["url"] == "--es-url"
    assert s.api_key == "env-key" and s.origins["api_key"] == "ELASTIC_API_KEY"
    assert s.request_timeout == 45 and s.origins["request_timeout"] == "profile prod"
    s = resolve_settings(profile="prod", env=env, config=cfg)
    assert s.url == "https://env.example.org:9200"
    s = resolve_settings(profile="prod", env={}, config=cfg)
    assert (s.url, s.api_key, s.profile) == ("https://prod.example.org:9200", SECRET, "prod")


def test_default_profile_used_only_when_nothing_else_names_a_cluster(clean_env, tmp_path):
    cfg = write_config(tmp_path / "config.toml", PROFILES)
    s = resolve_settings(env={}, config=cfg)
    assert s.profile == "prod" and s.api_key == SECRET
    # a URL typed on the command line never receives the default profile's key
    s = resolve_settings(es_url="https://other.example.org", env={}, config=cfg)
    assert s.profile is None and s.api_key is None and s.credential_label == "no credentials"
    s = resolve_settings(env={"HUNTBENCH_PROFILE": "lab"}, config=cfg)
    assert (s.username, s.password, s.query_timeout) == ("analyst", "lab-password-123", 90)


def test_unknown_profile_names_the_known_ones(clean_env, tmp_path):
    cfg = write_config(tmp_path / "config.toml", PROFILES)
    with pytest.raises(SourceError, match=r"--profile: no profile named 'qa' in .*config.toml \(profiles: lab, prod\)"):
        resolve_settings(profile="qa", env={}, config=cfg)


def test_config_holding_a_secret_readable_by_others_is_refused(clean_env, tmp_path):
    cfg = write_config(tmp_path / "config.toml", PROFILES, mode=0o644)
    with pytest.raises(SourceError) as info:
        resolve_settings(env={}, config=cfg)
    text = str(info.value)
    assert "readable by group or others (mode 0644)" in text
    assert f"chmod 600 {cfg}" in text
    assert SECRET not in text and "lab-password-123" not in text
    assert "\n" not in text
    # the same file without secrets may be world-readable
    write_config(cfg, 'default_profile = "x"\n[profiles.x]\nurl = "http://x:9200"\n', mode=0o644)
    assert resolve_settings(env={}, config=cfg).url == "http://x:9200"


def test_config_permissions_apply_through_connect_source(clean_env, tmp_path):
    cfg = write_config(tmp_path / "config.toml", PROFILES, mode=0o640)
    clean_env.setenv("HUNTBENCH_CONFIG", str(cfg))
    with pytest.raises(SourceError, match="chmod 600"):
        connect_source(profile="prod")
    os.chmod(cfg, stat.S_IRUSR | stat.S_IWUSR)
    source = connect_source(profile="prod", warn=lambda text: None)
    assert source.describe() == "elastic: https://prod.example.org:9200 (profile prod)"


def test_bad_config_is_one_line(clean_env, tmp_path):
    cfg = write_config(tmp_path / "config.toml", "[profiles.prod\nurl=1")
    with pytest.raises(SourceError, match=r"config file .*config.toml: not valid TOML"):
        resolve_settings(env={}, config=cfg)
    write_config(cfg, '[profiles.prod]\nurl = "http://x:9200"\napikey = "x"\n')
    with pytest.raises(SourceError, match="profile prod has unknown setting 'apikey'"):
        resolve_settings(env={}, config=cfg)


def test_url_userinfo_becomes_basic_auth_and_is_never_shown(clean_env):
    s = resolve_settings(es_url="https://elastic:p%40ss-w0rd@es.example.org:9200", env={})
    assert (s.username, s.password) == ("elastic", "p@ss-w0rd")
    assert s.url == "https://es.example.org:9200"
    assert "p@ss" not in repr(s) and "p%40ss" not in repr(s)
    assert "p@ss" not in s.describe() and "p@ss" not in s.credential_label
    assert strip_userinfo("http://u:p@[::1]:9200/x") == "http://[::1]:9200/x"


def test_secrets_are_not_in_repr_or_describe(clean_env):
    s = resolve_settings(es_url="https://es:9200", env={"ELASTIC_API_KEY": SECRET})
    assert SECRET not in repr(s)
    assert SECRET not in s.describe()
    assert s.credential_label == "API key from ELASTIC_API_KEY"


def test_environment_cloud_id_and_basic_auth(clean_env):
    s = resolve_settings(env={"ELASTIC_CLOUD_ID": "hunt-prod:ZXhhbXBsZS5vcmckYWJjJGRlZg==",
                              "ELASTIC_USERNAME": "u", "ELASTIC_PASSWORD": "pw"})
    assert s.target == "Elastic Cloud deployment hunt-prod"
    assert s.credential_label == "user u (password from ELASTIC_PASSWORD)"
    with pytest.raises(SourceError, match="user u .* has no password: set ELASTIC_PASSWORD"):
        resolve_settings(env={"ELASTICSEARCH_URL": "http://x:9200", "ELASTIC_USERNAME": "u"})


@pytest.mark.parametrize("url, message", [
    ("ftp://x", r"expected http\(s\)://HOST\[:PORT\]"),
    ("http://x:port", "the port is not a number"),
])
def test_bad_urls(clean_env, url, message):
    with pytest.raises(SourceError, match=message):
        resolve_settings(es_url=url, env={})


def test_timeouts_from_environment_are_checked(clean_env):
    s = resolve_settings(es_url="http://x:9200", env={"HUNTBENCH_ES_TIMEOUT": "2.5"})
    assert s.request_timeout == 2.5
    with pytest.raises(SourceError, match="HUNTBENCH_ES_TIMEOUT 'soon': expected a number of seconds"):
        resolve_settings(es_url="http://x:9200", env={"HUNTBENCH_ES_TIMEOUT": "soon"})


def test_missing_ca_bundle_is_named(clean_env, tmp_path):
    with pytest.raises(SourceError, match=r"--ca-certs .*nope.pem: no such CA bundle file"):
        resolve_settings(es_url="https://x:9200", ca_certs=str(tmp_path / "nope.pem"), env={})


def test_nothing_configured(clean_env):
    assert connect_source(required=False) is None
    with pytest.raises(SourceError, match="no cluster configured: give --es-url URL"):
        connect_source()


def test_insecure_warns(clean_env):
    seen = []
    connect_source(es_url="https://es.example.org:9200", insecure=True, warn=seen.append)
    assert len(seen) == 1 and "TLS certificate verification is OFF" in seen[0]
