#!/usr/bin/env bash
# Builds wa-gateway as one file with shiv: <dir>/wa-gateway-<version>-py<X.Y>-<platform>.pyz
#
#   ./build_pyz.sh                  for this machine: the python3 on PATH (or $PYTHON) and its platform
#   ./build_pyz.sh -o DIR           write the .pyz into DIR (default: dist)
#   ./build_pyz.sh --python-version 3.12 --arch aarch64
#                                   for another Python (X.Y or X.Y.Z) and/or CPU; the wheels are fetched with
#                                     pip download --only-binary=:all: --implementation cp \
#                                       --python-version 3.12 --abi cp312 \
#                                       --platform manylinux_2_34_aarch64 ... --platform manylinux2014_aarch64
#                                   (every manylinux tag a glibc >= 2.34 system runs, the floor neonize needs)
#   ./build_pyz.sh --platform linux-aarch64|linux-x86_64|macos-arm64|macos-x86_64|windows-amd64
#                                   for another operating system or CPU, from that platform's wheels
#                                   (macOS: macosx_12_0 and later, neonize's floor; Windows: win_amd64)
#   ./build_pyz.sh --update-lock    re-resolve requirements.lock from pyproject.toml (review, then commit it)
#
# A .pyz bundles compiled wheels for one CPython minor version and one platform, so both are in its name,
# its shebang asks for that exact interpreter, and `python3 wa-gateway.pyz --version` prints them.
#
# Reproducible: one source tree, requirements.lock and target give byte-identical files. The app is built
# as a wheel first and installed by name from a local wheelhouse (installing from a source path would
# record that path in direct_url.json), the pinned tools run from a venv at a fixed path (pip writes its
# interpreter's path into the shebangs of bundled console scripts), pip reads no user configuration while
# installing, and shiv stamps every entry with SOURCE_DATE_EPOCH (default: the last commit's time).
#
# Needs: bash, flock, a CPython with the venv module (Debian: apt-get install python3.11-venv), and access
# to PyPI (or a mirror set in pip's configuration) for the pinned tools and wheels.
set -euo pipefail
umask 022
export LC_ALL=C TZ=UTC

readonly SHIV_VERSION=1.0.8
readonly PIP_VERSION=26.3
readonly SETUPTOOLS_VERSION=84.2.1
readonly MIN_GLIBC_MINOR=34
# Fixed on purpose (see above); override only where /tmp is unusable, and keep the override constant.
readonly BUILD_ROOT=${WA_PYZ_BUILD_ROOT:-/tmp/wa-gateway-pyz-build}

usage() {
    sed -n '2,15s/^# \{0,1\}//p' "$0"
    exit "${1:-0}"
}

die() {
    echo "build_pyz.sh: $*" >&2
    exit 1
}

out_dir=dist
target_python=
target_arch=
target_os=linux
update_lock=false
while (($#)); do
    case $1 in
        -o | --output-dir) out_dir=${2:?-o needs a directory}; shift 2 ;;
        --python-version) target_python=${2:?--python-version needs X.Y}; shift 2 ;;
        --arch) target_arch=${2:?--arch needs x86_64 or aarch64}; shift 2 ;;
        --platform)
            case ${2:?--platform needs e.g. linux-aarch64} in
                linux-x86_64 | linux-aarch64 | macos-x86_64 | macos-arm64 | windows-amd64) ;;
                *) die "--platform must be linux-x86_64, linux-aarch64, macos-x86_64, macos-arm64 or windows-amd64" ;;
            esac
            target_os=${2%%-*}
            target_arch=${2#*-}
            shift 2
            ;;
        --update-lock) update_lock=true; shift ;;
        -h | --help) usage 0 ;;
        *) echo "build_pyz.sh: unknown argument: $1" >&2; usage 2 ;;
    esac
done

src_dir=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out_dir"
out_dir=$(cd "$out_dir" && pwd)
python=${PYTHON:-python3}
command -v "$python" >/dev/null || die "$python not found (set PYTHON to a CPython 3.11+ interpreter)"
command -v flock >/dev/null || die "flock not found (Debian: util-linux)"
# Built on Linux (flock, GNU stat); --platform chooses what it is built for.
[[ $(uname -s) == Linux ]] || die "wa-gateway's .pyz is built on Linux"

# One build at a time on this machine: they share BUILD_ROOT.
exec 9>"$BUILD_ROOT.lock"
flock 9
rm -rf "$BUILD_ROOT"
trap 'rm -rf "$BUILD_ROOT"' EXIT
mkdir -p "$BUILD_ROOT/src" "$BUILD_ROOT/wheelhouse"

echo "build_pyz.sh: installing shiv $SHIV_VERSION into a throwaway venv" >&2
"$python" -m venv "$BUILD_ROOT/venv"
tools=$BUILD_ROOT/venv/bin/python
"$tools" -m pip install --quiet --disable-pip-version-check \
    "pip==$PIP_VERSION" "setuptools==$SETUPTOOLS_VERSION" "shiv==$SHIV_VERSION"

# Only what the wheel is built from; stale bytecode or build/ leftovers never reach it.
cp -R "$src_dir/wa_gateway" "$src_dir/pyproject.toml" "$src_dir/README.md" "$BUILD_ROOT/src/"
find "$BUILD_ROOT/src" -depth \( -name __pycache__ -o -name '*.pyc' \) -exec rm -rf {} +

if $update_lock; then
    "$tools" -m pip install --quiet --dry-run --ignore-installed --no-build-isolation \
        --report "$BUILD_ROOT/report.json" "$BUILD_ROOT/src"
    {
        sed -n '1,/^# After changing/p' "$src_dir/requirements.lock"
        "$tools" - "$BUILD_ROOT/report.json" <<'EOF'
import json, re, sys
report = json.load(open(sys.argv[1]))
pins = {
    re.sub(r"[-_.]+", "-", item["metadata"]["name"]).lower(): item["metadata"]["version"]
    for item in report["install"]
}
pins.pop("wa-gateway")
print("\n".join(f"{name}=={version}" for name, version in sorted(pins.items())))
EOF
    } >"$BUILD_ROOT/requirements.lock"
    mv "$BUILD_ROOT/requirements.lock" "$src_dir/requirements.lock"
    echo "build_pyz.sh: wrote $src_dir/requirements.lock" >&2
    exit 0
fi

version=$("$tools" -c 'import sys; sys.path.insert(0, sys.argv[1]); import wa_gateway; print(wa_gateway.__version__)' \
    "$BUILD_ROOT/src")
running_python_full=$("$tools" -c 'import platform; print(platform.python_version())')
running_python=$(cut -d. -f1,2 <<<"$running_python_full")
running_arch=$("$tools" -c 'import sysconfig; print(sysconfig.get_platform().split("-", 1)[1])')
download_args=()
install_args=()
if [[ -n $target_python || -n $target_arch ]]; then
    # pip reads "3.11" as 3.11.0 for Requires-Python checks: for this interpreter's minor, say which patch.
    [[ -z $target_python || $target_python == "$running_python" ]] && target_python=$running_python_full
    target_arch=${target_arch:-$running_arch}
    [[ $target_python =~ ^3\.[0-9]+(\.[0-9]+)?$ ]] || die "--python-version must look like 3.12 or 3.12.4"
    [[ $target_os != linux || $target_arch =~ ^(x86_64|aarch64)$ ]] || die "--arch must be x86_64 or aarch64"
    pip_python=$target_python
    target_python=$(cut -d. -f1,2 <<<"$target_python")
    install_args=(--only-binary=:all: --implementation cp --python-version "$pip_python"
        --abi "cp${target_python/./}")
    case $target_os in
        linux)
            # pip does not widen an explicit manylinux_2_X tag to older ones, so every accepted tag is listed.
            for ((minor = MIN_GLIBC_MINOR; minor >= 17; minor--)); do
                install_args+=(--platform "manylinux_2_${minor}_${target_arch}")
            done
            install_args+=(--platform "manylinux2014_${target_arch}")
            ;;
        # pip widens a macOS tag to every older release and to universal2 (packaging's mac_platforms).
        macos) install_args+=(--platform "macosx_15_0_${target_arch}") ;;
        windows) install_args+=(--platform win_amd64) ;;
    esac
    download_args=("${install_args[@]}")
else
    target_python=$running_python
    target_arch=$running_arch
    download_args=(--only-binary=:all:)
fi
platform=$target_os-$target_arch
name=wa-gateway-$version-py$target_python-$platform.pyz

# Read by `wa-gateway --version` and by the interpreter check at start-up (wa_gateway/pyz_runtime.py).
cat >"$BUILD_ROOT/src/wa_gateway/_pyz_target.py" <<EOF
"""Written by build_pyz.sh: the interpreter and platform whose compiled wheels this .pyz bundles."""

PYTHON = "$target_python"
PLATFORM = "$platform"
EOF

echo "build_pyz.sh: building $name" >&2
"$tools" -m pip wheel --quiet --disable-pip-version-check --no-deps --no-build-isolation \
    --wheel-dir "$BUILD_ROOT/wheelhouse" "$BUILD_ROOT/src"
"$tools" -m pip download --quiet --disable-pip-version-check --no-deps "${download_args[@]}" \
    --dest "$BUILD_ROOT/wheelhouse" -r "$src_dir/requirements.lock"

if [[ -z ${SOURCE_DATE_EPOCH:-} ]]; then
    SOURCE_DATE_EPOCH=$(git -C "$src_dir" log -1 --format=%ct 2>/dev/null || echo 315554400)
fi
export SOURCE_DATE_EPOCH
partial=$out_dir/.$name.partial
(
    # Only the wheelhouse, whatever pip.conf or PIP_* variables say.
    while IFS= read -r var; do unset "$var"; done < <(compgen -e | grep '^PIP_' || true)
    export PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1
    # No --compile-pyc: it slows the first start and gains nothing later.
    "$BUILD_ROOT/venv/bin/shiv" --reproducible --entry-point wa_gateway.cli:main \
        --python "/usr/bin/env python$target_python" --output-file "$partial" \
        --no-index --find-links "$BUILD_ROOT/wheelhouse" --no-cache-dir --no-compile --quiet \
        "${install_args[@]}" -r "$src_dir/requirements.lock" "wa-gateway==$version"
) >&2
# Atomic: a running gateway's file is never half-written (its worker re-reads it on every restart).
mv -f "$partial" "$out_dir/$name"

size=$(stat -c %s "$out_dir/$name")
digest=$(sha256sum "$out_dir/$name" | cut -d' ' -f1)
printf 'built %s (%s bytes, %d MB)\nsha256 %s\n' "$out_dir/$name" "$size" $(((size + 524288) / 1048576)) "$digest"
