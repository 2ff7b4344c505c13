# fast-litellm tasks. On a fresh machine run them through ./just, which installs just.

set shell := ["bash", "-euo", "pipefail", "-c"]

root := justfile_directory()
venv := root / ".venv"
py := venv / "bin/python"
target_dir := env_var_or_default("CARGO_TARGET_DIR", root / "target")
wasm := target_dir / "wasm32-wasip2/release/fast_litellm.wasm"
packaged := root / "host-python/fast_litellm/component/fast_litellm.wasm"
export LITELLM_LOCAL_MODEL_COST_MAP := "True"

# list the tasks
default:
    @just --list

# toolchain target, virtualenv, pinned litellm and test tools (idempotent)
setup:
    #!/usr/bin/env bash
    set -euo pipefail
    cd "{{root}}"
    rustup target list --installed | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2
    [ -x "{{py}}" ] || python3 -m venv "{{venv}}"
    stamp="{{venv}}/.setup-$(cat requirements-dev.txt host-python/pyproject.toml | sha256sum | cut -c1-16)"
    if [ ! -f "$stamp" ]; then
        "{{py}}" -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
        "{{py}}" -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e host-python
        rm -f "{{venv}}"/.setup-*; touch "$stamp"
    fi

# compile the component and put it in the Python package
build: setup
    cd "{{root}}" && cargo build --release --target wasm32-wasip2
    mkdir -p "$(dirname "{{packaged}}")"
    cp "{{wasm}}" "{{packaged}}"
    # digest and size, so a warm import finds its compiled cache without hashing 50 MB
    echo "$(sha256sum "{{packaged}}" | cut -d' ' -f1) $(stat -c %s "{{packaged}}")" > "{{packaged}}.sha256"

# dist/fast_litellm-*.whl: pure Python plus the component (py3-none-any)
wheel: build
    rm -rf "{{root}}/dist" && "{{py}}" -m build --wheel --no-isolation "{{root}}/host-python" --outdir "{{root}}/dist"
    ls -l "{{root}}"/dist/*.whl

# After the pinned release, each other release in fast_litellm/_versions.py VERIFIED is
# installed beside it without its dependencies and the suite runs again on the pinned
# ones, but for the wheel test (it installs the pinned release into a venv of its own).
# (1.106.10 and 1.109.1 ask for certifi>=2026.10.19, which some mirrors lack; the pinned
# environment meets every other minimum of theirs, tiktoken's included.)
# Tests marked `routing` skip themselves on a release routing is not verified on.
# Rust core tests and the Python suite (parity, fallback, stress, wheel), on every verified litellm
test: wheel
    #!/usr/bin/env bash
    set -euo pipefail
    cd "{{root}}"
    cargo test --release --lib
    "{{py}}" -m pytest tests -q
    # the verified releases but the pinned one (read without importing the package)
    others=$("{{py}}" -c 'import runpy, importlib.metadata as m; print(*(r for r in
        runpy.run_path("host-python/fast_litellm/_versions.py")["VERIFIED"] if r != m.version("litellm")))')
    for release in $others; do
        beside="{{venv}}/litellm-$release"
        if [ ! -d "$beside/litellm" ]; then
            rm -rf "$beside" "$beside.partial"
            "{{py}}" -m pip install --quiet --disable-pip-version-check --no-deps --target "$beside.partial" "litellm==$release"
            mv "$beside.partial" "$beside"
        fi
        echo "== the suite on litellm $release"
        # test_host checks that this release, not the pinned one, is the one imported
        FAST_LITELLM_TEST_RELEASE="$release" PYTHONPATH="$beside" "{{py}}" -m pytest tests -q --ignore=tests/test_wheel.py
    done

# side-by-side benchmark against stock litellm, printed as ratios; then limiters and routing
bench: build
    cd "{{root}}" && "{{py}}" benches/bench_tokens.py
    cd "{{root}}" && "{{py}}" benches/bench_ratelimit.py
    cd "{{root}}" && "{{py}}" benches/bench_routing.py

# the main job: stock litellm vs fast-litellm on the same requests, no API keys needed
demo: build
    cd "{{root}}" && "{{py}}" benches/demo.py

# How a release is verified before it joins fast_litellm/_versions.py VERIFIED.
# the whole suite against another litellm release, patched though not yet verified
test-litellm version: wheel
    #!/usr/bin/env bash
    set -euo pipefail
    cd "{{root}}"
    venv="{{root}}/.venv-litellm-{{version}}"
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check)
    "${pip[@]}" -r requirements-dev.txt
    if ! "${pip[@]}" "litellm[proxy]=={{version}}"; then
        echo "litellm {{version}}'s dependencies do not resolve from this index: installing it alone"
        "${pip[@]}" --no-deps "litellm=={{version}}"
        "$venv/bin/python" -m pip check || true
    fi
    "${pip[@]}" --no-deps --no-build-isolation -e host-python
    FAST_LITELLM_ALLOW_UNVERIFIED_LITELLM=1 FAST_LITELLM_TEST_RELEASE="{{version}}" "$venv/bin/python" -m pytest tests -q
