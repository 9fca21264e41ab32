"""The plugin catalogue: a static JSON index of plugins (format ``scrm-catalogue/1``, its JSON Schema
in ``catalogue.schema.json`` next to this module), hostable anywhere or kept as a local file.

``scrm catalogue build DIR`` writes one from a directory of wheels (an agency hosts its own);
``scrm plugins search | info | install`` read one from a URL or a path. Installing picks a release
that is compatible with the running core and not on the blocklist, refuses unverified plugins when the
deployment sets ``SCRM_PLUGINS_VERIFIED_ONLY``, checks the wheel's SHA-256 against the index, and
hands the checked file to pip — with the wheel's directory as a place to find dependencies, so it
works offline.

Building reads each wheel's metadata and asks the plugin's ``scrm_manifest`` hook (in a separate
Python process, with the wheel on its path) for the core range and the scopes it declares: the
catalogue shows the permissions the code itself asks for.
"""

from __future__ import annotations

import email.parser
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import jsonschema
import msgspec
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from scrm.version import __version__

FORMAT = "scrm-catalogue/1"
INDEX_NAME = "catalogue.json"
FETCH_TIMEOUT_S = 30.0


class CatalogueError(ValueError):
    """The catalogue cannot be read, or refuses what was asked; the message says why."""


class Release(msgspec.Struct, kw_only=True, omit_defaults=True):
    version: str
    wheel: str
    sha256: str
    core: str = ""
    scopes: list[str] = msgspec.field(default_factory=list)
    description: str = ""
    requires: list[str] = msgspec.field(default_factory=list)

    def fits(self, core_version: str) -> bool:
        """Whether this release declares the core version ``core_version`` compatible."""
        return not self.core or SpecifierSet(self.core).contains(Version(core_version), prereleases=True)


class Plugin(msgspec.Struct, kw_only=True, omit_defaults=True):
    name: str
    distribution: str
    releases: list[Release]
    summary: str = ""
    source: str = ""
    verified: bool = False

    def newest(self) -> Release:
        return max(self.releases, key=lambda r: Version(r.version))


class Blocked(msgspec.Struct, kw_only=True, omit_defaults=True):
    plugin: str
    versions: str = ""
    reason: str = ""


class Catalogue(msgspec.Struct, kw_only=True, omit_defaults=True):
    format: str  # always written: FORMAT
    plugins: list[Plugin] = msgspec.field(default_factory=list)
    blocklist: list[Blocked] = msgspec.field(default_factory=list)
    name: str = ""
    generated_at: str = ""

    def plugin(self, name: str) -> Plugin:
        for plugin in self.plugins:
            if plugin.name == name:
                return plugin
        raise CatalogueError(f"the catalogue has no plugin {name!r}")

    def blocked(self, name: str, version: str) -> Blocked | None:
        """The blocklist entry that covers this plugin's version, if any."""
        for entry in self.blocklist:
            if entry.plugin == name and (
                not entry.versions or SpecifierSet(entry.versions).contains(Version(version), prereleases=True)
            ):
                return entry
        return None

    def search(self, text: str = "") -> list[Plugin]:
        """Plugins whose name or summary contains ``text`` (case-insensitive), by name."""
        needle = text.lower()
        return sorted(
            (p for p in self.plugins if needle in p.name.lower() or needle in p.summary.lower()), key=lambda p: p.name
        )


def schema() -> dict[str, Any]:
    """The catalogue format's JSON Schema."""
    loaded: dict[str, Any] = json.loads(files("scrm").joinpath("catalogue.schema.json").read_text(encoding="utf-8"))
    return loaded


# --- reading ------------------------------------------------------------------------------------


def _is_url(source: str) -> bool:
    return urlsplit(source).scheme in ("http", "https")


def _read(source: str) -> bytes:
    if _is_url(source):
        import httpx

        try:
            response = httpx.get(source, timeout=FETCH_TIMEOUT_S, follow_redirects=True)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise CatalogueError(f"cannot fetch {source}: {exc}") from None
        return response.content
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        raise CatalogueError(f"cannot read {source}: {exc.strerror}") from None


def index_location(source: str) -> str:
    """Where the index is, given a URL or path of the index itself or of its directory."""
    if _is_url(source):
        return source if source.endswith(".json") else source.rstrip("/") + "/" + INDEX_NAME
    path = Path(source)
    return str(path / INDEX_NAME if path.is_dir() else path)


def load(source: str) -> tuple[Catalogue, str]:
    """The catalogue at ``source`` (a URL or path, of the index or its directory), checked against its
    schema, and the index's location (wheel paths are relative to it)."""
    where = index_location(source)
    try:
        data = json.loads(_read(where))
    except ValueError as exc:
        raise CatalogueError(f"{where} is not JSON: {exc}") from None
    errors = sorted(jsonschema.Draft202012Validator(schema()).iter_errors(data), key=lambda e: list(map(str, e.path)))
    if errors:
        first = errors[0]
        at = "/".join(map(str, first.absolute_path)) or "(top)"
        raise CatalogueError(f"{where} is not a valid catalogue: at {at}: {first.message}")
    catalogue = msgspec.convert(data, Catalogue)
    for plugin in catalogue.plugins:
        for release in plugin.releases:
            try:
                Version(release.version)
                SpecifierSet(release.core)
            except (InvalidVersion, InvalidSpecifier) as exc:
                raise CatalogueError(f"{where}: {plugin.name} {release.version}: {exc}") from None
        plugin.releases.sort(key=lambda r: Version(r.version))
    return catalogue, where


# --- choosing and installing --------------------------------------------------------------------


def choose(
    catalogue: Catalogue,
    name: str,
    wanted: str = "",
    *,
    core_version: str = __version__,
    verified_only: bool = False,
) -> tuple[Plugin, Release]:
    """The release of ``name`` to install: the newest matching ``wanted`` (a version or a PEP 440
    specifier) that fits this core and is not blocked. Refuses an unverified plugin when
    ``verified_only``; says why when nothing fits."""
    plugin = catalogue.plugin(name)
    if verified_only and not plugin.verified:
        raise CatalogueError(
            f"{name} is not verified in this catalogue, and this deployment installs only verified plugins "
            "(SCRM_PLUGINS_VERIFIED_ONLY)"
        )
    try:
        spec = SpecifierSet(f"=={wanted}" if wanted and wanted[0].isdecimal() else wanted)
    except InvalidSpecifier:
        raise CatalogueError(f"{wanted!r} is not a version or a version range") from None
    matching = sorted(
        (r for r in plugin.releases if spec.contains(Version(r.version), prereleases=True)),
        key=lambda r: Version(r.version),
        reverse=True,
    )
    if not matching:
        raise CatalogueError(f"{name} has no release matching {wanted!r}")
    refusals = []
    for release in matching:
        blocked = catalogue.blocked(name, release.version)
        if blocked is not None:
            refusals.append(f"{release.version} is blocklisted" + (f" ({blocked.reason})" if blocked.reason else ""))
        elif not release.fits(core_version):
            refusals.append(f"{release.version} needs scrm {release.core}, this is {core_version}")
        else:
            return plugin, release
    raise CatalogueError(f"no release of {name} can be installed: " + "; ".join(refusals))


def fetch_wheel(index: str, release: Release, into: Path) -> Path:
    """The release's wheel copied into ``into`` after its SHA-256 matched the catalogue's."""
    location = urljoin(index, release.wheel) if _is_url(index) else str(Path(index).parent / release.wheel)
    if not _is_url(index) and _is_url(release.wheel):
        location = release.wheel
    data = _read(location)
    found = hashlib.sha256(data).hexdigest()
    if found != release.sha256:
        raise CatalogueError(
            f"the wheel {release.wheel} does not match the catalogue's checksum (sha256 {found}, expected "
            f"{release.sha256}): refusing to install it"
        )
    target = into / Path(urlsplit(release.wheel).path).name
    target.write_bytes(data)
    return target


def pip_install_command() -> list[str]:
    """How to run ``pip install`` for this Python: its own pip, or uv's pip interface (an environment
    made by uv has no pip)."""
    import importlib.util

    if importlib.util.find_spec("pip") is not None:
        return [sys.executable, "-m", "pip", "install"]
    uv = shutil.which("uv")
    if uv is None:
        raise CatalogueError("installing needs pip (python -m pip) or uv in this environment")
    return [uv, "pip", "install", "--python", sys.executable]


def install(
    wheel: Path,
    *,
    find_links: list[str],
    index_url: str | None = None,
    offline: bool = False,
    target: Path | None = None,
    no_deps: bool = False,
) -> str:
    """Install a checked wheel with pip; dependencies come from ``find_links`` (and the package index
    unless ``offline``). Returns pip's output; a failure raises with it."""
    command = [*pip_install_command(), str(wheel)]
    for link in find_links:
        command += ["--find-links", link]
    if offline:
        command.append("--no-index")
    elif index_url:
        command += ["--index-url", index_url]
    if target is not None:
        command += ["--target", str(target)]
    if no_deps:
        command.append("--no-deps")
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)  # noqa: S603
    output = (result.stdout + result.stderr).strip()
    if result.returncode != 0:
        raise CatalogueError(f"pip could not install {wheel.name}:\n{output}")
    return output


def install_from(
    source: str,
    name: str,
    wanted: str = "",
    *,
    verified_only: bool = False,
    offline: bool = False,
    index_url: str | None = None,
    target: Path | None = None,
    no_deps: bool = False,
) -> tuple[Plugin, Release]:
    """Choose, fetch, check and install a plugin from the catalogue at ``source``."""
    catalogue, index = load(source)
    plugin, release = choose(catalogue, name, wanted, verified_only=verified_only)
    with tempfile.TemporaryDirectory(prefix="scrm-install-") as tmp:
        wheel = fetch_wheel(index, release, Path(tmp))
        links = [tmp] if _is_url(index) else [tmp, str(Path(index).parent)]
        install(wheel, find_links=links, index_url=index_url, offline=offline, target=target, no_deps=no_deps)
    return plugin, release


# --- building -----------------------------------------------------------------------------------

_MANIFEST_PROBE = """
import importlib, json, sys
sys.path.insert(0, sys.argv[1])
module = importlib.import_module(sys.argv[2])
manifest = module.scrm_manifest()
print(json.dumps({"name": manifest.name, "version": manifest.version, "core": manifest.core,
                  "scopes": list(manifest.scopes), "description": manifest.description}))
"""


def _wheel_metadata(wheel: Path) -> tuple[dict[str, Any], str, str]:
    """The wheel's core metadata, and its ``scrm`` entry point (name, module)."""
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        meta_name = next((n for n in names if n.endswith(".dist-info/METADATA")), None)
        eps_name = next((n for n in names if n.endswith(".dist-info/entry_points.txt")), None)
        if meta_name is None:
            raise CatalogueError(f"{wheel.name}: not a wheel (no METADATA)")
        metadata = email.parser.Parser().parsestr(archive.read(meta_name).decode())
        entry = _scrm_entry_point(archive.read(eps_name).decode() if eps_name else "")
    if entry is None:
        raise CatalogueError(f"{wheel.name}: no entry point in group 'scrm' (not an scrm plugin)")
    urls = metadata.get_all("Project-URL") or []
    source = next((u.split(",", 1)[1].strip() for u in urls if u.lower().startswith(("source", "repository"))), "")
    info = {
        "distribution": metadata["Name"],
        "version": metadata["Version"],
        "summary": metadata.get("Summary", "") or "",
        "source": source or metadata.get("Home-page", "") or "",
        "requires": [r for r in metadata.get_all("Requires-Dist") or [] if "extra ==" not in r],
    }
    return info, entry[0], entry[1]


def _scrm_entry_point(text: str) -> tuple[str, str] | None:
    section = None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line.strip("[]")
        elif section == "scrm" and "=" in line:
            name, _, value = line.partition("=")
            return name.strip(), value.strip().split(":")[0]
    return None


def _manifest(wheel: Path, module: str) -> dict[str, Any]:
    result = subprocess.run(  # noqa: S603 - our own interpreter running a fixed probe
        [sys.executable, "-c", _MANIFEST_PROBE, str(wheel), module],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise CatalogueError(f"{wheel.name}: cannot read its manifest (scrm_manifest): {last}")
    found: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return found


def build(
    directory: Path, previous: Catalogue | None = None, verified: set[str] | None = None, name: str = ""
) -> Catalogue:
    """A catalogue of every plugin wheel in ``directory``. Verified flags and the blocklist of
    ``previous`` (the index being rebuilt) are kept; ``verified`` names plugins to mark verified."""
    wheels = sorted(directory.glob("*.whl"))
    if not wheels:
        raise CatalogueError(f"{directory} holds no wheels (*.whl)")
    kept_verified = {p.name for p in previous.plugins if p.verified} if previous else set()
    plugins: dict[str, Plugin] = {}
    for wheel in wheels:
        info, entry_name, module = _wheel_metadata(wheel)
        manifest = _manifest(wheel, module)
        if manifest["name"] != entry_name:
            raise CatalogueError(f"{wheel.name}: entry point {entry_name!r} but manifest name {manifest['name']!r}")
        release = Release(
            version=info["version"],
            wheel=wheel.name,
            sha256=hashlib.sha256(wheel.read_bytes()).hexdigest(),
            core=manifest["core"],
            scopes=manifest["scopes"],
            description=manifest["description"],
            requires=info["requires"],
        )
        plugin = plugins.get(entry_name)
        if plugin is None:
            plugin = plugins[entry_name] = Plugin(
                name=entry_name,
                distribution=info["distribution"],
                releases=[],
                source=info["source"],
                summary=info["summary"],
            )
        if any(r.version == release.version for r in plugin.releases):
            raise CatalogueError(f"{wheel.name}: {entry_name} {release.version} appears twice")
        plugin.releases.append(release)
    for plugin in plugins.values():
        plugin.releases.sort(key=lambda r: Version(r.version))
        newest = plugin.newest()
        plugin.summary = newest.description or plugin.summary
        plugin.verified = plugin.name in kept_verified or plugin.name in (verified or set())
    return Catalogue(
        format=FORMAT,
        name=name or (previous.name if previous else ""),
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        plugins=sorted(plugins.values(), key=lambda p: p.name),
        blocklist=list(previous.blocklist) if previous else [],
    )


def dump(catalogue: Catalogue) -> bytes:
    """The index as written: JSON, two-space indented, keys as the schema orders them."""
    return msgspec.json.format(msgspec.json.encode(catalogue), indent=2) + b"\n"
