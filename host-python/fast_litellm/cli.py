"""`fast-litellm` command line: `status` (what is on), `doctor` (what is off, and why),
`bench` (stock litellm vs fast-litellm, as ratios, with a JSON file and a PNG chart)."""

from __future__ import annotations

import argparse
import json
import os
import sys


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths))  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def status(args: argparse.Namespace) -> int:
    import fast_litellm

    health = fast_litellm.health_check()
    if args.json:
        print(json.dumps({"health": health, "stats": fast_litellm.get_performance_stats()}, indent=2, default=str))
        return 0
    print(f"fast-litellm {health['fast_litellm_version']}: {health['status']}")
    verified = f"verified for {', '.join(health['litellm_verified_features'])}" if health["litellm_version_verified"] else (
        f"not verified: fast-litellm is verified against {', '.join(health['verified_litellm_versions'])}")
    print(f"  litellm {health['litellm_version']} ({verified})")
    print(f"  component {health['component_path']}")
    cache = health["compiled_cache"]
    if cache:
        print(f"  compiled cache {'hit' if cache.get('cache_hit') else 'miss'}: {cache.get('cache_file')}")
    print()
    routing = health["routing"]
    rows = [[label, "yes" if e["patched"] else "no", e.get("problem", "")] for label, e in health["patches"].items()]
    rows.append(["litellm.router.Router.get_available_deployment (+ async)", "yes" if routing["patched"] else "no",
                 "; ".join(routing.get("problems", [])) or ", ".join(routing.get("strategies", []))])
    print(_table(rows, ["patch target", "live", "note"]))
    if health["features"]:
        print()
        print(_table([[name, f["state"], f["source"], f["breaker"] or "", f["errors"] if f["errors"] is not None else "",
                       "" if f["implemented"] else "not built yet"]
                      for name, f in health["features"].items()],
                     ["feature", "state", "source", "breaker", "errors", "note"]))
    for warning in health["configuration_warnings"]:
        print(f"warning: {warning}")
    return 0


def doctor(args: argparse.Namespace) -> int:
    """Check each prerequisite; explain what is off and why. Exit 1 if anything is."""
    problems: list[str] = []

    def check(ok: bool, good: str, bad: str) -> None:
        print(("  ok    " if ok else "  FAIL  ") + (good if ok else bad))
        if not ok:
            problems.append(bad)

    print("fast-litellm doctor")
    try:
        import wasmtime  # noqa: F401
        from importlib.metadata import version

        check(True, f"wasmtime {version('wasmtime')} imports", "")
    except Exception as exc:  # pragma: no cover - wasmtime is a dependency
        check(False, "", f"wasmtime does not import ({exc}); pip install 'wasmtime>=50,<51'")
    from fast_litellm import _component

    path = _component.component_path()
    override = " (FAST_LITELLM_COMPONENT)" if os.environ.get("FAST_LITELLM_COMPONENT") else ""
    check(path.is_file(), f"component file {path}{override}",
          f"component file missing: {path}{override}; reinstall fast-litellm or unset FAST_LITELLM_COMPONENT")
    cache = _component.cache_dir()
    try:
        cache.mkdir(parents=True, exist_ok=True)
        probe = cache / f".doctor-{os.getpid()}"
        probe.write_bytes(b"ok")
        probe.unlink()
        check(True, f"cache dir writable: {cache}", "")
    except OSError as exc:
        check(False, "", f"cache dir {cache} not writable ({exc}): every process compiles the component "
                         "(about 2-3 s); set FAST_LITELLM_CACHE_DIR")
    import fast_litellm

    health = fast_litellm.health_check()
    check(health["component_error"] is None, "component loads and instantiates",
          f"component does not load: {health['component_error']}")
    check(health["litellm_version_verified"], f"litellm {health['litellm_version']} is a verified release",
          f"litellm {health['litellm_version']} is not a release fast-litellm was verified against "
          f"({', '.join(health['verified_litellm_versions'])}): left unpatched unless "
          "FAST_LITELLM_ALLOW_UNVERIFIED_LITELLM=1")
    from . import _flags, _versions

    if _versions.unverified_problem() is None:  # else not examined: nothing was patched
        check(not health["unrecognised_litellm_internals"], "litellm internals recognised",
              "litellm internals differ, token counting left to litellm: "
              + "; ".join(health["unrecognised_litellm_internals"]))
        routing_unverified = _versions.unverified_problem(_versions.ROUTING)
        if routing_unverified is not None:  # by design on this release: said, not a problem
            print(f"  note  {routing_unverified}")
        else:
            check(not health["routing"].get("problems"), "litellm's Router recognised",
                  "litellm's Router differs, deployment selection left to litellm: "
                  + "; ".join(health["routing"].get("problems", [])))
    if _flags.env_switch("FAST_LITELLM_DISABLE_ALL"):
        check(False, "", "FAST_LITELLM_DISABLE_ALL is set: nothing is patched at import")
    else:
        check(health["status"] == "accelerated", "litellm is accelerated",
              "litellm is not accelerated (see the lines above)")
    for warning in health["configuration_warnings"]:
        check(False, "", f"configuration: {warning}")
    print("all good" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


def bench(args: argparse.Namespace) -> int:
    from . import _bench

    report = _bench.run(rounds=args.rounds, per_sample=args.samples)
    print(_bench.table(report))
    with open(args.output, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2)
    print(f"results: {args.output}")
    if _bench.chart(report, args.chart):
        print(f"chart: {args.chart}")
    else:
        print("chart: skipped (matplotlib is not installed: pip install 'fast-litellm[bench]')")
    return 0


def _positive(text: str) -> int:
    """argparse type: an int of at least 1 (a round or a sample of no calls measures nothing)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fast-litellm", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p_status = sub.add_parser("status", help="health, patches and feature flags")
    p_status.add_argument("--json", action="store_true", help="machine-readable output")
    p_status.set_defaults(run=status)
    sub.add_parser("doctor", help="check prerequisites and explain what is off").set_defaults(run=doctor)
    p_bench = sub.add_parser("bench", help="stock litellm vs fast-litellm, same process, as ratios")
    p_bench.add_argument("--rounds", type=_positive, default=7, help="interleaved rounds per row (default 7)")
    p_bench.add_argument("--samples", type=_positive, default=60, help="calls per sample (default 60)")
    p_bench.add_argument("--output", default="fast-litellm-bench.json", help="JSON results file")
    p_bench.add_argument("--chart", default="fast-litellm-bench.png", help="PNG chart of the ratios")
    p_bench.set_defaults(run=bench)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
