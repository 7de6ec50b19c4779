"""`pifnet-engine fuse` argv building, checked against the CLI contract and the engine's own parser.

Two checks with different jobs, hence different case sets:

* ``test_argv_matches_options`` compares the argv with an expectation written from the contract,
  which necessarily mirrors the builder's own rules (one option per field, ``--weights`` only with
  PIF-Net). Such a test finds a rule that is wrong for a value, or two fields that interfere, not
  a third field that matters only with two others, so it runs over an all-pairs covering set of
  the option values (every value of any option meets every value of any other in some case;
  ``allpairs.all_pairs``, deterministic): 13 cases instead of the 864 of the full product.
* ``test_argv_is_accepted_by_the_real_engine_parser`` feeds the argv to the engine's real click
  command and keeps the FULL product: it is what guarantees that every argv the plugin can build
  is accepted by the engine with the intended values, and it runs as one test (no per-case cost).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from .allpairs import all_pairs, uncovered_pairs
from .argv_split import split_argv

from qgis_plugin.errors import OptionsError
from qgis_plugin.options import DEVICES, DTYPES, METHODS, FuseOptions, build_fuse_argv, refuse_unused_weights

ENGINE = "/opt/pifnet env/bin/pifnet-engine"
#: Options of `pifnet-engine fuse` that take a value (docs/cli.md); the rest are flags.
VALUED = {"-o", "--output", "--method", "--weights", "--tile-size", "--overlap", "--batch-size", "--device", "--dtype", "--progress"}
FLAGS = {"--cog", "--overwrite", "--allow-resample", "--no-report"}

#: Values of (method, device, dtype, cog, allow_resample, tile_size_px, overlap_px, weights_path).
PARAMETERS = (
    METHODS, DEVICES, DTYPES, (False, True), (False, True), (None, 512), (None, 0, 48), (None, "/w/cave x4.safetensors")
)
#: Every combination: what the real-parser test runs.
COMBINATIONS = list(itertools.product(*PARAMETERS))
#: Every pair of values of any two parameters in at least one case: what the expectation test runs.
PAIRWISE = all_pairs(*PARAMETERS)


def parse_argv(argv: list[str]) -> tuple[dict[str, str], set[str], list[str]]:
    """Split a `pifnet-engine fuse` argv into (valued options, flags, positionals), by the contract.

    Fails on an unknown option or a repeated one, so the builder cannot emit anything the
    contract does not define.
    """
    return split_argv(argv, [ENGINE, "fuse"], VALUED, FLAGS)


@pytest.mark.parametrize("method,device,dtype,cog,resample,tile,overlap,weights", PAIRWISE)
def test_argv_matches_options(method, device, dtype, cog, resample, tile, overlap, weights) -> None:
    options = FuseOptions(
        hsi_path="/data/enmap hsi.tif",
        msi_path="/data/-s2.tif",
        output_path="/out/fused.tif",
        method=method,
        weights_path=weights,
        device=device,
        tile_size_px=tile,
        overlap_px=overlap,
        dtype=dtype,
        cog=cog,
        allow_resample=resample,
    )
    values, flags, positionals = parse_argv(build_fuse_argv(ENGINE, options))

    assert positionals == ["/data/enmap hsi.tif", "/data/-s2.tif"]
    expected = {"--method": method, "--device": device, "--dtype": dtype, "--progress": "json", "-o": "/out/fused.tif"}
    if tile is not None:
        expected["--tile-size"] = str(tile)
    if overlap is not None:
        expected["--overlap"] = str(overlap)
    if weights is not None and method == "pifnet":
        expected["--weights"] = weights
    assert values == expected
    assert flags == {"--overwrite"} | ({"--cog"} if cog else set()) | ({"--allow-resample"} if resample else set())


def test_pairwise_cases_cover_every_pair_of_values() -> None:
    assert uncovered_pairs(PAIRWISE, *PARAMETERS) == set()
    assert set(PAIRWISE) <= set(COMBINATIONS) and len(set(PAIRWISE)) == len(PAIRWISE) < len(COMBINATIONS) // 50
    assert PAIRWISE == all_pairs(*PARAMETERS)  # deterministic: the same cases on every run


def test_overwrite_can_be_left_out() -> None:
    options = FuseOptions("/a.tif", "/b.tif", "/c.tif", overwrite=False)
    assert "--overwrite" not in build_fuse_argv(ENGINE, options)


@pytest.mark.parametrize(
    "changes,fragment",
    [
        ({"method": "pifnet2"}, "method is 'pifnet2'; expected one of pifnet, gsa, bicubic"),
        ({"device": "gpu"}, "device is 'gpu'; expected one of auto, cpu, cuda"),
        ({"dtype": "uint16"}, "output data type is 'uint16'"),
        ({"tile_size_px": 0}, "tile size is 0 MSI pixels; expected an integer >= 1"),
        ({"overlap_px": -4}, "overlap is -4 MSI pixels; expected an integer >= 0"),
        ({"hsi_path": ""}, "HSI path is empty"),
        ({"tile_size_px": 64, "overlap_px": 33},
         "overlap is 33 MSI pixels, more than half the tile size of 64: the engine would grow every tile to 66 "
         "pixels (twice the overlap); expected an overlap of at most 32; lower the overlap (empty: the method's "
         "default) or raise the tile size to at least 66"),
    ],
)
def test_bad_values_are_refused_with_a_message(changes: dict, fragment: str) -> None:
    base = {"hsi_path": "/a.tif", "msi_path": "/b.tif", "output_path": "/c.tif"}
    with pytest.raises(OptionsError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        FuseOptions(**(base | changes))


def test_an_overlap_of_half_the_tile_is_accepted() -> None:
    assert FuseOptions("/a.tif", "/b.tif", "/c.tif", tile_size_px=64, overlap_px=32).overlap_px == 32
    assert FuseOptions("/a.tif", "/b.tif", "/c.tif", tile_size_px=None, overlap_px=500).overlap_px == 500  # engine default tile


def test_weights_with_a_method_that_reads_none_are_refused() -> None:
    options = FuseOptions("/a.tif", "/b.tif", "/c.tif", method="gsa", weights_path="/w.safetensors")
    assert "--weights" not in build_fuse_argv(ENGINE, options)  # the argv never passes them
    with pytest.raises(OptionsError) as caught:
        refuse_unused_weights(options)
    assert str(caught.value) == (
        "a weights file '/w.safetensors' is given with method 'gsa', which reads no weights; expected weights "
        "only with method PIF-Net; choose method PIF-Net, or clear the weights file"
    )
    refuse_unused_weights(FuseOptions("/a.tif", "/b.tif", "/c.tif", method="pifnet", weights_path="/w.safetensors"))
    refuse_unused_weights(FuseOptions("/a.tif", "/b.tif", "/c.tif", method="bicubic"))


@pytest.mark.parametrize("report", [True, False])
def test_report_switch(report: bool) -> None:
    """The report is the engine's default: only switching it off adds a flag (``--no-report``)."""
    options = FuseOptions("/a.tif", "/b.tif", "/c.tif", report=report)
    _, flags, _ = parse_argv(build_fuse_argv(ENGINE, options))
    assert flags == {"--overwrite"} | (set() if report else {"--no-report"})
    assert FuseOptions("/a.tif", "/b.tif", "/c.tif").report is True


def test_argv_is_accepted_by_the_real_engine_parser(tmp_path: Path) -> None:
    """Every combination parses with the engine's own click command into the same values."""
    cli = pytest.importorskip("pifnet_engine.cli.main", reason="engine CLI not importable in this Python")
    for name in ("hsi.tif", "msi.tif", "w.safetensors"):
        (tmp_path / name).write_bytes(b"")
    group = cli.cli
    seen_methods = set()
    for method, device, dtype, cog, resample, tile, overlap, weights in COMBINATIONS:
        options = FuseOptions(
            str(tmp_path / "hsi.tif"), str(tmp_path / "msi.tif"), str(tmp_path / "out.tif"),
            method=method, device=device, dtype=dtype, cog=cog, allow_resample=resample,
            tile_size_px=tile, overlap_px=overlap, weights_path=str(tmp_path / "w.safetensors") if weights else None,
        )
        argv = build_fuse_argv(ENGINE, options)
        ctx = group.make_context("pifnet-engine", argv[1:2], resilient_parsing=True)
        command = group.get_command(ctx, "fuse")
        sub = command.make_context("fuse", argv[2:], parent=ctx)
        params = {k: (str(v) if isinstance(v, Path) else v) for k, v in sub.params.items()}
        assert str(params["hsi"]) == options.hsi_path and str(params["msi"]) == options.msi_path
        assert str(params["output"]) == options.output_path
        assert params["method"] == method and params["device"] == device and params["dtype"] == dtype
        assert bool(params["cog"]) == cog and bool(params["allow_resample"]) == resample
        assert params["tile_size"] == (tile if tile is not None else 256)
        assert params["overlap"] == overlap
        assert params["progress"] == "json" and params["overwrite"] is True
        assert params["report"] is True and params["report_wald"] is True
        seen_methods.add(method)
    assert seen_methods == set(METHODS)
    off = FuseOptions(str(tmp_path / "hsi.tif"), str(tmp_path / "msi.tif"), str(tmp_path / "out.tif"), report=False)
    argv = build_fuse_argv(ENGINE, off)
    ctx = group.make_context("pifnet-engine", argv[1:2], resilient_parsing=True)
    params = group.get_command(ctx, "fuse").make_context("fuse", argv[2:], parent=ctx).params
    assert params["report"] is False and params["overwrite"] is True  # --overwrite also removes an older report
