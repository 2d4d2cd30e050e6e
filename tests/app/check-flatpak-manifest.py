#!/usr/bin/env python3
"""Check the Flatpak manifest without building it (no network here):
valid JSON, the app id and command match the project, every module has a
name, a known build system and sources; local sources exist; remote sources
are pinned (tag, commit or checksum); every pkg-config dependency of the
meson build is either in the GNOME runtime or built by a module."""
import json
import re
import sys
from pathlib import Path

# pkg-config names the GNOME runtime provides, and which module provides the rest.
RUNTIME_PROVIDES = {
    "gtk4", "libadwaita-1", "glib-2.0", "gio-2.0", "gobject-2.0", "json-glib-1.0",
    "libsoup-3.0", "sqlite3", "gtksourceview-5", "libpcre2-8", "vulkan", "libsecret-1",
    "threads",
}
MODULE_PROVIDES = {"libcjson": "cjson", "md4c": "md4c", "openblas": "openblas"}
PROGRAM_PROVIDES = {"glslc": "shaderc"}
KNOWN_BUILDSYSTEMS = {"meson", "cmake", "cmake-ninja", "simple", "autotools", "qmake"}


def fail(msg):
    print(f"not ok: {msg}")
    sys.exit(1)


def main():
    manifest_path, source_root, app_id = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        fail(f"{manifest_path} is not valid JSON: {e}")

    if manifest.get("id") != app_id:
        fail(f"manifest id {manifest.get('id')!r} != {app_id!r}")
    if manifest.get("command") != "distill":
        fail("manifest command must be 'distill'")
    for key in ("runtime", "runtime-version", "sdk", "modules", "finish-args"):
        if key not in manifest:
            fail(f"manifest has no {key!r}")

    names = []
    for module in manifest["modules"]:
        if isinstance(module, str):  # a module in its own file
            if not (manifest_path.parent / module).is_file():
                fail(f"module file {module} does not exist")
            continue
        name = module.get("name")
        if not name:
            fail("a module has no name")
        names.append(name)
        if module.get("buildsystem", "autotools") not in KNOWN_BUILDSYSTEMS:
            fail(f"module {name}: unknown buildsystem {module.get('buildsystem')!r}")
        sources = module.get("sources")
        if not sources:
            fail(f"module {name} has no sources")
        for src in sources:
            kind = src.get("type")
            if kind == "dir":
                if not (manifest_path.parent / src["path"]).resolve().is_dir():
                    fail(f"module {name}: dir source {src['path']} does not exist")
            elif kind == "git":
                if not src.get("url", "").startswith("https://"):
                    fail(f"module {name}: git source without an https url")
                if not (src.get("tag") or src.get("commit") or src.get("branch")):
                    fail(f"module {name}: git source {src['url']} is not pinned")
            elif kind in ("archive", "file"):
                if not src.get("sha256"):
                    fail(f"module {name}: {kind} source without sha256")
            else:
                fail(f"module {name}: unknown source type {kind!r}")
    if len(names) != len(set(names)):
        fail("duplicate module names")
    if names[-1] != "distill":
        fail("the last module must be the app itself ('distill')")
    app_module = manifest["modules"][-1]
    if app_module.get("buildsystem") != "meson":
        fail("the app module must build with meson, like the project")

    # Every dependency the meson build asks for must be available.
    wanted = set()
    for build in source_root.rglob("meson.build"):
        if any(part.startswith("build") for part in build.relative_to(source_root).parts[:-1]):
            continue
        text = build.read_text()
        wanted |= set(re.findall(r"dependency\('([^']+)'", text))
        for prog in re.findall(r"find_program\('([^']+)'", text):
            if prog in PROGRAM_PROVIDES:
                wanted.add("program:" + prog)
    for dep in sorted(wanted):
        if dep.startswith("program:"):
            mod = PROGRAM_PROVIDES[dep[8:]]
            if mod not in names:
                fail(f"{dep[8:]} is needed but no module {mod!r} builds it")
        elif dep in RUNTIME_PROVIDES:
            continue
        elif dep in MODULE_PROVIDES:
            if MODULE_PROVIDES[dep] not in names:
                fail(f"dependency {dep} needs module {MODULE_PROVIDES[dep]!r}")
        else:
            fail(f"dependency {dep} is neither in the GNOME runtime list nor built by a module")
    print(f"ok: {manifest_path.name}: {len(names)} modules, {len(wanted)} dependencies covered")


if __name__ == "__main__":
    main()
