"""GROK patterns -> one RE2 regular expression DuckDB's ``regexp_extract`` can run.

ES|QL's ``GROK`` uses Elasticsearch's grok library with the ECS-compatible built-in patterns
(``GrokBuiltinPatterns.get(true)``, files ``libs/grok/src/main/resources/patterns/ecs-v1``).
This module carries the subset of that library that Linux / syslog hunts use, rewritten for
RE2 (DuckDB's regex engine), which has no look-around and no atomic groups:

- ``(?>x)`` atomic groups become ``(?:x)``; the look-behind/look-ahead guards Elasticsearch puts
  around IPV4 and BASE10NUM are dropped (``\\b`` keeps WORD/POSINT honest); a pattern *written
  by the user* with look-around or back-references is rejected with a :class:`GrokError`
  instead of silently matching differently;
- every group that is not a field capture becomes non-capturing, so capture group *i* of the
  regex is field ``group_names[i-1]`` and ``regexp_extract(s, regex, group_names)`` works;
- ``%{PATTERN:name}`` and ``%{PATTERN:name:type}`` capture (type int/long -> integer/long,
  float/double -> double as ES|QL widens them, anything else keyword), ``%{PATTERN}`` does
  not, Oniguruma ``(?<name>re)`` captures keyword; ``[a][b]`` names become ``a.b``; named
  captures inside library patterns (SYSLOGBASE's ``process.name``...) are fields too, as in
  Elasticsearch.

Matching is a search (unanchored) like Elasticsearch's; when the regex does not match, every
field is null. A field captured more than once (``%{WORD:x} %{WORD:x}``) appears once in
``fields`` and several times in ``group_names``: ES|QL then returns the non-null captures as a
multi-value.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache

import duckdb


class GrokError(ValueError):
    """The pattern cannot be compiled (unknown pattern name, bad regex, unsupported syntax)."""


# Built-in patterns (ECS v1 names and meanings; RE2 syntax).
PATTERNS: dict[str, str] = {
    "USERNAME": r"[a-zA-Z0-9._-]+",
    "USER": r"%{USERNAME}",
    # ES bounds the dot-separated parts ({1,62}){0,63}; RE2 caps repetition at 1000, so unbounded
    "EMAILLOCALPART": r"[a-zA-Z0-9!#$%&'*+\-/=?^_`{|}~]{1,64}(?:\.[a-zA-Z0-9!#$%&'*+\-/=?^_`{|}~]+)*",
    "EMAILADDRESS": r"%{EMAILLOCALPART}@%{HOSTNAME}",
    "INT": r"(?:[+-]?(?:[0-9]+))",
    "BASE10NUM": r"(?:[+-]?(?:(?:[0-9]+(?:\.[0-9]+)?)|(?:\.[0-9]+)))",
    "NUMBER": r"(?:%{BASE10NUM})",
    "BASE16NUM": r"(?:[+-]?(?:0x)?(?:[0-9A-Fa-f]+))",
    "BASE16FLOAT": r"\b(?:[+-]?(?:0x)?(?:(?:[0-9A-Fa-f]+(?:\.[0-9A-Fa-f]*)?)|(?:\.[0-9A-Fa-f]+)))\b",
    "POSINT": r"\b(?:[1-9][0-9]*)\b",
    "NONNEGINT": r"\b(?:[0-9]+)\b",
    "WORD": r"\b\w+\b",
    "NOTSPACE": r"\S+",
    "SPACE": r"\s*",
    "DATA": r".*?",
    "GREEDYDATA": r".*",
    "QUOTEDSTRING": r"(?:\"(?:\\.|[^\\\"]+)+\"|\"\"|(?:'(?:\\.|[^\\']+)+')|''|(?:`(?:\\.|[^\\`]+)+`)|``)",
    "QS": r"%{QUOTEDSTRING}",
    "UUID": r"[A-Fa-f0-9]{8}-(?:[A-Fa-f0-9]{4}-){3}[A-Fa-f0-9]{12}",
    "URN": r"urn:[0-9A-Za-z][0-9A-Za-z-]{0,31}:(?:%[0-9a-fA-F]{2}|[0-9A-Za-z()+,.:=@;$_!*'/?#-])+",
    "MAC": r"(?:%{CISCOMAC}|%{WINDOWSMAC}|%{COMMONMAC})",
    "CISCOMAC": r"(?:(?:[A-Fa-f0-9]{4}\.){2}[A-Fa-f0-9]{4})",
    "WINDOWSMAC": r"(?:(?:[A-Fa-f0-9]{2}-){5}[A-Fa-f0-9]{2})",
    "COMMONMAC": r"(?:(?:[A-Fa-f0-9]{2}:){5}[A-Fa-f0-9]{2})",
    "IPV6": (
        r"(?:(?:(?:[0-9A-Fa-f]{1,4}:){7}(?:[0-9A-Fa-f]{1,4}|:))"
        r"|(?:(?:[0-9A-Fa-f]{1,4}:){6}(?::[0-9A-Fa-f]{1,4}|%{_IPV4DOTTED}|:))"
        r"|(?:(?:[0-9A-Fa-f]{1,4}:){5}(?:(?:(?::[0-9A-Fa-f]{1,4}){1,2})|:%{_IPV4DOTTED}|:))"
        r"|(?:(?:[0-9A-Fa-f]{1,4}:){4}(?:(?:(?::[0-9A-Fa-f]{1,4}){1,3})|(?:(?::[0-9A-Fa-f]{1,4})?:%{_IPV4DOTTED})|:))"
        r"|(?:(?:[0-9A-Fa-f]{1,4}:){3}(?:(?:(?::[0-9A-Fa-f]{1,4}){1,4})|(?:(?::[0-9A-Fa-f]{1,4}){0,2}:%{_IPV4DOTTED})|:))"
        r"|(?:(?:[0-9A-Fa-f]{1,4}:){2}(?:(?:(?::[0-9A-Fa-f]{1,4}){1,5})|(?:(?::[0-9A-Fa-f]{1,4}){0,3}:%{_IPV4DOTTED})|:))"
        r"|(?:(?:[0-9A-Fa-f]{1,4}:){1}(?:(?:(?::[0-9A-Fa-f]{1,4}){1,6})|(?:(?::[0-9A-Fa-f]{1,4}){0,4}:%{_IPV4DOTTED})|:))"
        r"|(?::(?:(?:(?::[0-9A-Fa-f]{1,4}){1,7})|(?:(?::[0-9A-Fa-f]{1,4}){0,5}:%{_IPV4DOTTED})|:)))"
        r"(?:%.+)?"
    ),
    "_IPV4DOTTED": r"(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3})",
    "IPV4": (
        r"(?:(?:[0-1]?[0-9]{1,2}|2[0-4][0-9]|25[0-5])[.](?:[0-1]?[0-9]{1,2}|2[0-4][0-9]|25[0-5])"
        r"[.](?:[0-1]?[0-9]{1,2}|2[0-4][0-9]|25[0-5])[.](?:[0-1]?[0-9]{1,2}|2[0-4][0-9]|25[0-5]))"
    ),
    "IP": r"(?:%{IPV6}|%{IPV4})",
    "HOSTNAME": r"\b(?:[0-9A-Za-z][0-9A-Za-z-]{0,62})(?:\.(?:[0-9A-Za-z][0-9A-Za-z-]{0,62}))*(?:\.?|\b)",
    "IPORHOST": r"(?:%{IP}|%{HOSTNAME})",
    "HOSTPORT": r"%{IPORHOST}:%{POSINT}",
    "PATH": r"(?:%{UNIXPATH}|%{WINPATH})",
    "UNIXPATH": r"(?:/[[:alnum:]_%!$@:.,+~-]*)+",
    "TTY": r"(?:/dev/(?:pts|tty(?:[pq])?)(?:\w+)?/?(?:[0-9]+))",
    "WINPATH": r"(?:[A-Za-z]+:|\\)(?:\\[^\\?*]*)+",
    "URIPROTO": r"[A-Za-z](?:[A-Za-z0-9+\-.]+)+",
    "URIHOST": r"%{IPORHOST}(?::%{POSINT})?",
    "URIPATH": r"(?:/[A-Za-z0-9$.+!*'(){},~:;=@#%&_\-]*)+",
    "URIQUERY": r"[A-Za-z0-9$.+!*'|(){},~@#%&/=:;_?\-\[\]<>]*",
    "URIPARAM": r"\?%{URIQUERY}",
    "URIPATHPARAM": r"%{URIPATH}(?:\?%{URIQUERY})?",
    "URI": r"%{URIPROTO}://(?:%{USER}(?::[^@]*)?@)?(?:%{URIHOST})?(?:%{URIPATH}(?:\?%{URIQUERY})?)?",
    "MONTH": (
        r"\b(?:[Jj]an(?:uary|uar)?|[Ff]eb(?:ruary|ruar)?|[Mm](?:a|ä)?r(?:ch|z)?|[Aa]pr(?:il)?"
        r"|[Mm]a(?:y|i)?|[Jj]un(?:e|i)?|[Jj]ul(?:y|i)?|[Aa]ug(?:ust)?|[Ss]ep(?:tember)?"
        r"|[Oo](?:c|k)?t(?:ober)?|[Nn]ov(?:ember)?|[Dd]e(?:c|z)(?:ember)?)\b"
    ),
    "MONTHNUM": r"(?:0?[1-9]|1[0-2])",
    "MONTHNUM2": r"(?:0[1-9]|1[0-2])",
    "MONTHDAY": r"(?:(?:0[1-9])|(?:[12][0-9])|(?:3[01])|[1-9])",
    "DAY": r"(?:Mon(?:day)?|Tue(?:sday)?|Wed(?:nesday)?|Thu(?:rsday)?|Fri(?:day)?|Sat(?:urday)?|Sun(?:day)?)",
    "YEAR": r"(?:\d\d){1,2}",
    "HOUR": r"(?:2[0123]|[01]?[0-9])",
    "MINUTE": r"(?:[0-5][0-9])",
    "SECOND": r"(?:(?:[0-5]?[0-9]|60)(?:[:.,][0-9]+)?)",
    "TIME": r"%{HOUR}:%{MINUTE}(?::%{SECOND})",
    "DATE_US": r"%{MONTHNUM}[/-]%{MONTHDAY}[/-]%{YEAR}",
    "DATE_EU": r"%{MONTHDAY}[./-]%{MONTHNUM}[./-]%{YEAR}",
    "ISO8601_TIMEZONE": r"(?:Z|[+-]%{HOUR}(?::?%{MINUTE}))",
    "ISO8601_SECOND": r"%{SECOND}",
    "TIMESTAMP_ISO8601": r"%{YEAR}-%{MONTHNUM}-%{MONTHDAY}[T ]%{HOUR}:?%{MINUTE}(?::?%{SECOND})?%{ISO8601_TIMEZONE}?",
    "DATE": r"%{DATE_US}|%{DATE_EU}",
    "DATESTAMP": r"%{DATE}[- ]%{TIME}",
    "TZ": r"(?:[APMCE][SD]T|UTC)",
    "DATESTAMP_RFC822": r"%{DAY} %{MONTH} %{MONTHDAY} %{YEAR} %{TIME} %{TZ}",
    "DATESTAMP_RFC2822": r"%{DAY}, %{MONTHDAY} %{MONTH} %{YEAR} %{TIME} %{ISO8601_TIMEZONE}",
    "DATESTAMP_OTHER": r"%{DAY} %{MONTH} %{MONTHDAY} %{TIME} %{TZ} %{YEAR}",
    "DATESTAMP_EVENTLOG": r"%{YEAR}%{MONTHNUM2}%{MONTHDAY}%{HOUR}%{MINUTE}%{SECOND}",
    "SYSLOGTIMESTAMP": r"%{MONTH} +%{MONTHDAY} %{TIME}",
    "PROG": r"[\x21-\x5a\x5c\x5e-\x7e]+",
    "SYSLOGPROG": r"%{PROG:[process][name]}(?:\[%{POSINT:[process][pid]:int}\])?",
    "SYSLOGHOST": r"%{IPORHOST}",
    "SYSLOGFACILITY": r"<%{NONNEGINT:[log][syslog][facility][code]:int}.%{NONNEGINT:[log][syslog][priority]:int}>",
    "HTTPDATE": r"%{MONTHDAY}/%{MONTH}/%{YEAR}:%{TIME} %{INT}",
    "SYSLOGBASE": r"%{SYSLOGTIMESTAMP:timestamp} (?:%{SYSLOGFACILITY} )?%{SYSLOGHOST:[host][hostname]} %{SYSLOGPROG}:",
    "SYSLOGBASE2": (
        r"(?:%{SYSLOGTIMESTAMP:timestamp}|%{TIMESTAMP_ISO8601:timestamp})(?: %{SYSLOGFACILITY})?"
        r"(?: %{SYSLOGHOST:host.hostname})?(?: %{SYSLOGPROG}:)?"
    ),
    "SYSLOGLINE": r"%{SYSLOGBASE2} %{GREEDYDATA:message}",
    "CRON_ACTION": r"[A-Z ]+",
    "CRONLOG": r"%{SYSLOGBASE} \(%{USER:user.name}\) %{CRON_ACTION:system.cron.action} \(%{DATA:message}\)",
    "LOGLEVEL": (
        r"(?:[Aa]lert|ALERT|[Tt]race|TRACE|[Dd]ebug|DEBUG|[Nn]otice|NOTICE|[Ii]nfo?(?:rmation)?"
        r"|INFO?(?:RMATION)?|[Ww]arn?(?:ing)?|WARN?(?:ING)?|[Ee]rr?(?:or)?|ERR?(?:OR)?"
        r"|[Cc]rit?(?:ical)?|CRIT?(?:ICAL)?|[Ff]atal|FATAL|[Ss]evere|SEVERE|EMERG(?:ENCY)?"
        r"|[Ee]merg(?:ency)?)"
    ),
}

# grok capture types -> ES|QL column types (ES|QL widens float to double)
_TYPES = {"int": "integer", "long": "long", "float": "double", "double": "double", "boolean": "boolean"}

_REFERENCE = re.compile(r"%\{(\w+)(?::([^:}]*))?(?::([^:}]*))?\}")


@dataclass(frozen=True)
class GrokPattern:
    """A compiled GROK pattern.

    ``regex``: RE2 syntax; capture group i (1-based) holds field ``group_names[i-1]``.
    ``fields``: the output columns, (name, ES|QL type), each name once, sorted by name as
    Elasticsearch orders GROK's new columns (``Grok.Parser.extractedFields``).
    """

    pattern: str
    regex: str
    group_names: tuple[str, ...]
    fields: tuple[tuple[str, str], ...]


def _field_name(raw: str) -> str:
    """``[process][pid]`` -> ``process.pid`` (how Elasticsearch addresses nested fields)."""
    if raw.startswith("["):
        parts = re.findall(r"\[([^\]]*)\]", raw)
        if parts:
            return ".".join(parts)
    return raw


def _scan_groups(regex: str, *, user: bool) -> str:
    """Make every plain group non-capturing; reject what RE2 cannot run.

    Oniguruma named groups ``(?<name>`` written by the user become a marker the caller turns
    into a field capture; look-around and back-references are errors (RE2 has neither)."""
    out: list[str] = []
    i, n = 0, len(regex)
    in_class = False
    while i < n:
        c = regex[i]
        if c == "\\":
            nxt = regex[i + 1 : i + 2]
            if not nxt:
                raise GrokError("pattern ends with a lone backslash")
            if user and nxt.isdigit() and nxt != "0":
                raise GrokError(f"back-reference \\{nxt} is not supported offline")
            if user and nxt == "k":
                raise GrokError("named back-references are not supported offline")
            out.append(regex[i : i + 2])
            i += 2
            continue
        if in_class:
            if c == "[" and regex.startswith("[:", i):
                end = regex.find(":]", i + 2)
                if end > 0:
                    out.append(regex[i : end + 2])
                    i = end + 2
                    continue
            if c == "]":
                in_class = False
            out.append(c)
            i += 1
            continue
        if c == "[":
            in_class = True
            out.append(c)
            i += 1
            # a ']' or '^]' right after '[' is literal
            if regex[i : i + 1] == "^":
                out.append("^")
                i += 1
            if regex[i : i + 1] == "]":
                out.append("]")
                i += 1
            continue
        if c == "(":
            if regex.startswith("(?", i):
                if regex.startswith(("(?=", "(?!", "(?<=", "(?<!"), i):
                    raise GrokError("look-ahead and look-behind are not supported offline")
                if regex.startswith("(?>", i):
                    out.append("(?:")
                    i += 3
                    continue
                if regex.startswith("(?<", i) or regex.startswith("(?P<", i):
                    start = i + (4 if regex[i + 2] == "P" else 3)
                    end = regex.find(">", start)
                    if end < 0:
                        raise GrokError("unterminated group name")
                    out.append("\x00NAMED:" + regex[start:end] + "\x00")
                    i = end + 1
                    continue
                out.append("(?")
                i += 2
                continue
            out.append("(?:")
            i += 1
            continue
        out.append(c)
        i += 1
    if in_class:
        raise GrokError("missing closing ]")
    return "".join(out)


class _Compiler:
    def __init__(self, library: dict[str, str]) -> None:
        self.library = library
        self.groups: list[str] = []
        self.types: dict[str, str] = {}
        self.order: list[str] = []  # first-seen order of field names

    def capture(self, name: str, es_type: str) -> None:
        self.groups.append(name)
        known = self.types.get(name)
        if known is None:
            self.types[name] = es_type
            self.order.append(name)
        elif known != es_type:
            raise GrokError(f"the attribute [{name}] is defined multiple times with different types")

    def expand(self, regex: str, depth: int, user: bool) -> str:
        if depth > 40:
            raise GrokError("circular reference in pattern definitions")
        regex = _scan_groups(regex, user=user)
        out: list[str] = []
        pos = 0
        for m in re.finditer(r"%\{[^}]*\}|\x00NAMED:([^\x00]*)\x00", regex):
            out.append(regex[pos : m.start()])
            pos = m.end()
            if m.group(0).startswith("\x00"):
                self.capture(_field_name(m.group(1)), "keyword")
                out.append("(")
                continue
            ref = _REFERENCE.fullmatch(m.group(0))
            if ref is None:
                raise GrokError(f"invalid pattern reference {m.group(0)}")
            pattern_name, field, type_name = ref.groups()
            body = self.library.get(pattern_name)
            if body is None:
                raise GrokError(f"Unable to find pattern [{pattern_name}] in Grok's pattern dictionary")
            if field:
                es_type = _TYPES.get((type_name or "").lower(), "keyword")
                self.capture(_field_name(field), es_type)
                out.append("(" + self.expand(body, depth + 1, False) + ")")
            else:
                out.append("(?:" + self.expand(body, depth + 1, False) + ")")
        out.append(regex[pos:])
        return "".join(out)


_checker: duckdb.DuckDBPyConnection | None = None
_checker_lock = threading.Lock()


def _check_re2(regex: str) -> None:
    """Ask DuckDB's own RE2 whether it accepts the regex: the engine runs exactly this.
    One private in-memory connection, opened on first use (opening one costs ~80 ms)."""
    global _checker
    with _checker_lock:
        if _checker is None:
            _checker = duckdb.connect(":memory:")
        try:
            _checker.execute("SELECT regexp_matches('', ?)", [regex]).fetchone()
        except duckdb.Error as exc:
            reason = str(exc).split("Pattern failed to parse:", 1)[-1].strip()
            raise GrokError(reason.splitlines()[0] if reason else "invalid regular expression") from None


@lru_cache(maxsize=256)
def compile_grok(pattern: str) -> GrokPattern:
    """Compile an ES|QL GROK pattern. Raises GrokError with the reason when it cannot."""
    compiler = _Compiler(PATTERNS)
    regex = compiler.expand(pattern, 0, True)
    _check_re2(regex)
    return GrokPattern(
        pattern=pattern,
        regex=regex,
        group_names=tuple(compiler.groups),
        fields=tuple((name, compiler.types[name]) for name in sorted(compiler.order)),
    )
