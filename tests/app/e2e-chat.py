#!/usr/bin/env python3
"""End to end, as a person with a screen reader would: start the real app, find the
message box and the Send button by their accessible roles and names over AT-SPI, type a
question, press Send, and read the streamed answer back from the accessibility tree.

Needs a display (Xvfb), dbus-run-session around it (a private session bus), the AT-SPI bus
launcher and python3-pyatspi. Exits 77 (skipped) when one is missing or the AT-SPI bus does
not start; fails when the app is there but cannot be driven.

Usage: e2e-chat.py DISTILL_BINARY SCHEMA_DIR MODEL_FILE
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

SKIP = 77


def skip(why):
    # in CI everything this test needs is installed by build-aux/test: a missing piece is a failure
    if os.environ.get("CI") == "true":
        print(f"FAIL (CI=true, so this cannot be skipped): {why}")
        sys.exit(1)
    print(f"SKIP: {why}")
    sys.exit(SKIP)


# The app tests run with G_DEBUG=fatal-warnings: libatspi warns about things that are no fault of
# ours (an empty cache at start), so this process runs without it (GLib reads it once, at start).
# pyatspi comes with the system's python; a python from elsewhere (pyenv) may not see it.
if not os.environ.get("E2E_REEXEC"):
    os.environ["E2E_REEXEC"] = "1"
    os.environ.pop("G_DEBUG", None)
    python = sys.executable
    try:
        import importlib.util
        if importlib.util.find_spec("pyatspi") is None and os.path.exists("/usr/bin/python3"):
            python = "/usr/bin/python3"
    except Exception:
        pass
    os.execv(python, [python] + sys.argv)
try:
    import pyatspi  # noqa: E402
except ImportError:
    skip("python3-pyatspi is not installed")


def walk(acc, depth=0, max_depth=60):
    """Every accessible under acc (depth first)."""
    if acc is None or depth > max_depth:
        return
    yield acc
    try:
        n = acc.childCount
    except Exception:
        return
    for i in range(n):
        try:
            child = acc.getChildAtIndex(i)
        except Exception:
            continue
        yield from walk(child, depth + 1, max_depth)


def text_of(acc):
    try:
        t = acc.queryText()
        return t.getText(0, t.characterCount)
    except Exception:
        return ""


def find(root, pred, timeout=20.0):
    end = time.time() + timeout
    while time.time() < end:
        for a in walk(root):
            try:
                if pred(a):
                    return a
            except Exception:
                pass
        time.sleep(0.2)
    return None


def main():
    if len(sys.argv) != 4:
        print(__doc__)
        return 2
    distill, schema_dir, model = sys.argv[1:4]
    if not os.environ.get("DISPLAY"):
        skip("no display (run under xvfb-run)")
    if not os.path.exists(model):
        if os.environ.get("CI") == "true":
            print(f"FAIL: fixture {model} is missing")
            return 1
        skip(f"fixture {model} is missing")
    launcher = "/usr/libexec/at-spi-bus-launcher"
    if not os.path.exists(launcher):
        skip("at-spi2-core is not installed")
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        skip("no session bus (run inside dbus-run-session)")

    home = tempfile.mkdtemp(prefix="distill-e2e-")
    procs = []
    try:
        bus = subprocess.Popen([launcher, "--launch-immediately"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        procs.append(bus)
        # the accessibility bus is up when the registry answers
        desktop = None
        end = time.time() + 15
        while time.time() < end:
            try:
                desktop = pyatspi.Registry.getDesktop(0)
                if desktop is not None:
                    desktop.childCount
                    break
            except Exception:
                desktop = None
            time.sleep(0.3)
        if desktop is None:
            skip("the AT-SPI bus did not start")

        # a private home: the model in the default models folder, chosen as the last model
        data = os.path.join(home, "data")
        config = os.path.join(home, "config")
        models = os.path.join(data, "distill", "models")
        os.makedirs(models)
        link = os.path.join(models, os.path.basename(model))
        os.symlink(os.path.abspath(model), link)
        keyfile_dir = os.path.join(config, "glib-2.0", "settings")
        os.makedirs(keyfile_dir)
        with open(os.path.join(keyfile_dir, "keyfile"), "w") as f:
            f.write("[io/github/distillapp/Distill]\n")
            f.write(f"last-model='{link}'\n")
            f.write("last-view='chat'\n")
        env = dict(os.environ)
        env.update({
            "GSETTINGS_SCHEMA_DIR": schema_dir,
            "GSETTINGS_BACKEND": "keyfile",
            "XDG_CONFIG_HOME": config,
            "XDG_DATA_HOME": data,
            "XDG_CACHE_HOME": os.path.join(home, "cache"),
            "GTK_A11Y": "atspi",
            "ADW_DISABLE_PORTAL": "1",
            "GDK_BACKEND": "x11",
        })
        for k in ("NO_AT_BRIDGE", "G_DEBUG"):
            env.pop(k, None)
        app = subprocess.Popen([distill], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        procs.append(app)

        def is_app(a):
            return a.name in ("distill", "Distill") and app.poll() is None

        app_acc = find(desktop, lambda a: a.getRoleName() == "application" and is_app(a), timeout=30)
        if app_acc is None:
            if app.poll() is not None:
                print(app.stdout.read().decode(errors="replace"))
                print("FAIL: the app exited")
                return 1
            skip("the app did not appear on the AT-SPI bus")
        print(f"found the app: {app_acc.name}")

        # the message box, by its role and name, as a screen reader announces it
        composer = find(app_acc, lambda a: a.getRole() in (pyatspi.ROLE_TEXT, pyatspi.ROLE_ENTRY)
                        and a.name == "Message")
        assert composer is not None, "no text box named “Message”"
        send = find(app_acc, lambda a: a.getRole() == pyatspi.ROLE_PUSH_BUTTON and a.name == "Send")
        assert send is not None, "no button named “Send”"
        print("found the message box and the Send button")

        # wait for the model (the Send button works once it is loaded)
        question = "Once upon a time"
        try:
            composer.queryComponent().grabFocus()  # GTK 4.8 does not offer it: the box has focus at start
        except Exception:
            pass
        time.sleep(0.3)
        typed = False
        try:
            composer.queryEditableText().setTextContents(question)
            typed = text_of(composer) == question
        except Exception:
            pass
        if not typed:  # type it key by key (XTEST)
            pyatspi.Registry.generateKeyboardEvent(0, question, pyatspi.KEY_STRING)
            end = time.time() + 10
            while time.time() < end and text_of(composer) != question:
                time.sleep(0.2)
        assert text_of(composer) == question, f"typing did not reach the message box: {text_of(composer)!r}"
        print("typed the question")

        def texts():
            return [a.name or text_of(a) for a in walk(app_acc)
                    if a.getRole() in (pyatspi.ROLE_LABEL, pyatspi.ROLE_TEXT, pyatspi.ROLE_PARAGRAPH)]

        before = set(texts())
        # press Send (again while the model is still loading: the app then says so and keeps the text)
        end = time.time() + 60
        stats = None
        while time.time() < end and stats is None:
            send.queryAction().doAction(0)
            stats = find(app_acc, lambda a: a.getRole() == pyatspi.ROLE_LABEL and "tok/s" in (a.name or ""),
                         timeout=20)
        assert stats is not None, "no finished answer (its statistics never appeared)"
        print(f"answer statistics: {stats.name}")
        # the streamed text itself: new text that is not the question, the statistics or a notice
        new = [t for t in texts() if t and t not in before and t != question and "tok/s" not in t
               and not t.startswith("The context")]
        print(f"new text in the window: {new[:3]!r}")
        assert sum(len(t) for t in new) >= 20, "the answer's text is not in the accessibility tree"
        print("PASS")
        return 0
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
