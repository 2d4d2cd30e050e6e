# Shared by build-aux/run and build-aux/test: install missing Debian packages,
# configure and build the project in build/. Sourced, not executed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${DISTILL_BUILD_DIR:-$ROOT/build}"
PACKAGES_FILE="$ROOT/build-aux/debian-packages.txt"

say() { printf '%s\n' "$*" >&2; }

# Packages from the list that are not installed yet.
missing_packages() {
  local pkg missing=()
  while IFS= read -r pkg; do
    pkg="${pkg%%#*}"; pkg="${pkg//[[:space:]]/}"
    [ -z "$pkg" ] && continue
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$pkg")
    fi
  done < "$PACKAGES_FILE"
  printf '%s\n' "${missing[@]}"
}

install_packages() {
  if ! command -v dpkg-query >/dev/null 2>&1; then
    say "This script installs its dependencies with apt (Debian 12). dpkg-query was not found;"
    say "install the packages in build-aux/debian-packages.txt by hand."
    return 1
  fi
  local missing
  missing="$(missing_packages | tr '\n' ' ')"
  missing="${missing% }"
  [ -z "$missing" ] && return 0
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      say "These packages are missing and installing them needs root: $missing"
      return 1
    fi
  fi
  say "Installing missing packages: $missing"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
  # shellcheck disable=SC2086
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
}

configure_and_build() {
  if [ ! -f "$BUILD_DIR/build.ninja" ]; then
    meson setup "$BUILD_DIR" "$ROOT" "$@"
  fi
  meson compile -C "$BUILD_DIR"
}
