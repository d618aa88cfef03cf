"""Where the cluster's address and credentials come from, and in what order.

Precedence, per setting: command-line flags, then the environment, then a named profile
in ``$XDG_CONFIG_HOME/huntbench/config.toml`` (``platformdirs.user_config_dir``). This is
the order the Elastic tools use (flags over ``ELASTICSEARCH_URL``/``ELASTIC_API_KEY`` over
files). A profile's credentials are only ever sent to that profile's own cluster: when the
address comes from a flag or the environment and no ``--profile`` was asked for, the
default profile is not consulted at all, so a key cannot leak to a host typed on the
command line.

Config file format::

    default_profile = "prod"          # used when no flag or variable names a cluster

    [profiles.prod]
    url = "https://es.example.org:9200"   # or cloud_id = "name:base64..."
    api_key = "base64-encoded id:key"     # or username = ".." + password = ".."
    ca_certs = "~/certs/prod-ca.pem"
    insecure = false
    request_timeout = 30                  # seconds, one HTTP request (the whole answer)
    query_timeout = 600                   # seconds, one ES|QL query as a whole

A file that holds a secret (``api_key`` or ``password``) must not be readable by group or
others, like ``~/.ssh`` keys and ``~/.netrc``: it is refused with the ``chmod`` that fixes it.
"""

from __future__ import annotations

import os
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import unquote, urlsplit, urlunsplit

import platformdirs

from collectors.result import SourceError

SECRET_KEYS = ("api_key", "password")
PROFILE_KEYS = {
    "url", "cloud_id", "api_key", "username", "password", "ca_certs", "insecure",
    "request_timeout", "query_timeout",
}
DEFAULT_REQUEST_TIMEOUT = 30.0
DEFAULT_QUERY_TIMEOUT = 600.0

ENV_URL = "ELASTICSEARCH_URL"
ENV_API_KEY = "ELASTIC_API_KEY"
ENV_CLOUD_ID = "ELASTIC_CLOUD_ID"
ENV_USERNAME = "ELASTIC_USERNAME"
ENV_PASSWORD = "ELASTIC_PASSWORD"
ENV_PROFILE = "HUNTBENCH_PROFILE"
ENV_REQUEST_TIMEOUT = "HUNTBENCH_ES_TIMEOUT"
ENV_QUERY_TIMEOUT = "HUNTBENCH_ES_QUERY_TIMEOUT"
ENV_CONFIG = "HUNTBENCH_CONFIG"


def config_path() -> Path:
    """The config file: ``$HUNTBENCH_CONFIG`` or ``<user config dir>/huntbench/config.toml``."""
    override = os.environ.get(ENV_CONFIG)
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_config_dir("huntbench")) / "config.toml"


@dataclass
class ClusterSettings:
    """Everything needed to reach one cluster. ``repr`` never shows a secret."""

    url: str | None = None
    cloud_id: str | None = None
    api_key: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_certs: str | None = None
    insecure: bool = False
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT
    query_timeout: float = DEFAULT_QUERY_TIMEOUT
    profile: str | None = None
    origins: dict[str, str] = field(default_factory=dict)
    """Setting name -> where it came from ("--es-url", "ELASTIC_API_KEY", "profile prod")."""

    @property
    def secrets(self) -> list[str]:
        """The secret values, so tests and scrubbers can make sure none is shown."""
        return [s for s in (self.api_key, self.password) if s]

    @property
    def target(self) -> str:
        """The cluster as shown to people: URL without credentials, or the cloud deployment."""
        if self.url:
            return strip_userinfo(self.url)
        if self.cloud_id:
            return f"Elastic Cloud deployment {self.cloud_id.split(':', 1)[0] or '(unnamed)'}"
        return "(no cluster)"

    @property
    def credential_label(self) -> str:
        """Which credential is used and where it came from, never its value."""
        if self.api_key:
            return f"API key from {self.origins.get('api_key', '?')}"
        if self.username:
            return f"user {self.username} (password from {self.origins.get('password', '?')})"
        return "no credentials"

    def describe(self) -> str:
        where = f"elastic: {self.target}"
        return f"{where} (profile {self.profile})" if self.profile else where


def strip_userinfo(url: str) -> str:
    """``https://u:p@host:9200/x`` -> ``https://host:9200/x``."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _check_url(url: str, origin: str) -> str:
    parts = urlsplit(url if "://" in url else "http://" + url)
    try:
        _ = parts.port  # raises ValueError for a port that is not a number
    except ValueError:
        raise SourceError(f"{origin} {strip_userinfo(url)!r}: the port is not a number") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SourceError(f"{origin} {strip_userinfo(url)!r}: expected http(s)://HOST[:PORT]")
    return url if "://" in url else "http://" + url


def _timeout(value: Any, origin: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SourceError(f"{origin} {value!r}: expected a number of seconds") from None
    if number <= 0:
        raise SourceError(f"{origin} {value!r}: must be more than 0 seconds")
    return number


def _describe_mode(mode: int) -> str:
    return oct(stat.S_IMODE(mode))[2:].rjust(4, "0")


def load_config(path: Path | None = None) -> dict[str, Any]:
    """Read the config file ({} if absent); refuse it when it exposes a secret."""
    path = path or config_path()
    try:
        raw = path.read_bytes()
        mode = path.stat().st_mode
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise SourceError(f"config file {path}: cannot read it ({exc.strerror})") from None
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SourceError(f"config file {path}: not valid TOML ({exc})") from None
    profiles = doc.get("profiles", {})
    if not isinstance(profiles, dict) or not all(isinstance(p, dict) for p in profiles.values()):
        raise SourceError(f"config file {path}: [profiles.NAME] entries must be tables")
    holding = [f"profiles.{name}.{key}" for name, p in profiles.items() for key in SECRET_KEYS if p.get(key)]
    if holding and os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SourceError(
            f"config file {path} holds a secret ({holding[0]}) but is readable by group or others "
            f"(mode {_describe_mode(mode)}); fix it with: chmod 600 {path}"
        )
    for name, p in profiles.items():
        unknown = sorted(set(p) - PROFILE_KEYS)
        if unknown:
            raise SourceError(
                f"config file {path}: profile {name} has unknown setting {unknown[0]!r} "
                f"(known: {', '.join(sorted(PROFILE_KEYS))})"
            )
    return doc


def resolve_settings(
    *,
    es_url: str | None = None,
    profile: str | None = None,
    ca_certs: str | None = None,
    insecure: bool = False,
    request_timeout: float | None = None,
    env: Mapping[str, str] | None = None,
    config: Path | None = None,
) -> ClusterSettings | None:
    """Merge flags, environment and profile; None when no cluster is named anywhere."""
    env = os.environ if env is None else env
    s = ClusterSettings()
    o = s.origins

    def put(name: str, value: Any, origin: str) -> None:
        if value not in (None, "") and name not in o:
            setattr(s, name, value)
            o[name] = origin

    # 1. flags
    if es_url:
        put("url", _check_url(es_url, "--es-url"), "--es-url")
    put("ca_certs", ca_certs, "--ca-certs")
    if insecure:
        put("insecure", True, "--insecure")
    if request_timeout is not None:
        put("request_timeout", _timeout(request_timeout, "--timeout"), "--timeout")
    # 2. environment
    if env.get(ENV_URL):
        put("url", _check_url(env[ENV_URL], ENV_URL), ENV_URL)
    put("cloud_id", env.get(ENV_CLOUD_ID), ENV_CLOUD_ID)
    put("api_key", env.get(ENV_API_KEY), ENV_API_KEY)
    put("username", env.get(ENV_USERNAME), ENV_USERNAME)
    put("password", env.get(ENV_PASSWORD), ENV_PASSWORD)
    if env.get(ENV_REQUEST_TIMEOUT):
        put("request_timeout", _timeout(env[ENV_REQUEST_TIMEOUT], ENV_REQUEST_TIMEOUT), ENV_REQUEST_TIMEOUT)
    if env.get(ENV_QUERY_TIMEOUT):
        put("query_timeout", _timeout(env[ENV_QUERY_TIMEOUT], ENV_QUERY_TIMEOUT), ENV_QUERY_TIMEOUT)
    # 3. a profile: asked for by name, or the default one when nothing above names a cluster
    named = profile or env.get(ENV_PROFILE) or None
    if named or not ("url" in o or "cloud_id" in o):
        path = config or config_path()
        doc = load_config(path)
        chosen = named or doc.get("default_profile")
        if chosen:
            profiles = doc.get("profiles", {})
            if chosen not in profiles:
                known = ", ".join(sorted(profiles)) or "none"
                where = "--profile" if profile else (ENV_PROFILE if named else f"default_profile in {path}")
                raise SourceError(f"{where}: no profile named {chosen!r} in {path} (profiles: {known})")
            p = profiles[chosen]
            s.profile = chosen
            label = f"profile {chosen}"
            if p.get("url"):
                put("url", _check_url(str(p["url"]), f"{label} url"), label)
            put("cloud_id", p.get("cloud_id"), label)
            put("api_key", p.get("api_key"), label)
            put("username", p.get("username"), label)
            put("password", p.get("password"), label)
            put("ca_certs", p.get("ca_certs"), label)
            if p.get("insecure") is True:
                put("insecure", True, label)
            if "request_timeout" in p:
                put("request_timeout", _timeout(p["request_timeout"], f"{label} request_timeout"), label)
            if "query_timeout" in p:
                put("query_timeout", _timeout(p["query_timeout"], f"{label} query_timeout"), label)
    if not (s.url or s.cloud_id):
        return None
    _take_userinfo(s)
    if s.ca_certs:
        path = Path(s.ca_certs).expanduser()
        if not path.is_file():
            raise SourceError(f"{o['ca_certs']} {s.ca_certs}: no such CA bundle file")
        s.ca_certs = str(path)
    if s.username and not s.password:
        raise SourceError(f"user {s.username} (from {o['username']}) has no password: set {ENV_PASSWORD}")
    return s


def _take_userinfo(s: ClusterSettings) -> None:
    """``https://user:pass@host`` -> basic credentials, and a URL that never shows them."""
    if not s.url:
        return
    parts = urlsplit(s.url)
    if parts.username is not None:
        origin = s.origins.get("url", "url")
        if "api_key" not in s.origins and "username" not in s.origins:
            s.username = unquote(parts.username)
            s.password = unquote(parts.password or "")
            s.origins["username"] = s.origins["password"] = f"{origin} (user:password@)"
        s.url = strip_userinfo(s.url)
