"""argv building for every parameter combination, checked against the CLI contract."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from argv_split import split_argv

from qgis_plugin.errors import OptionsError
from qgis_plugin.options import DEVICES, DTYPES, METHODS, FuseOptions, build_fuse_argv, ignored_options

ENGINE = "/opt/pifnet env/bin/pifnet-engine"
#: Options of `pifnet-engine fuse` that take a value (docs/cli.md); the rest are flags.
VALUED = {"-o", "--output", "--method", "--weights", "--tile-size", "--overlap", "--batch-size", "--device", "--dtype", "--progress"}
FLAGS = {"--cog", "--overwrite", "--allow-resample"}

COMBINATIONS = list(
    itertools.product(
        METHODS, DEVICES, DTYPES, (False, True), (False, True), (None, 512), (None, 0, 48), (None, "/w/cave x4.safetensors")
    )
)


def parse_argv(argv: list[str]) -> tuple[dict[str, str], set[str], list[str]]:
    """Split a `pifnet-engine fuse` argv into (valued options, flags, positionals), by the contract.

    Fails on an unknown option or a repeated one, so the builder cannot emit anything the
    contract does not define.
    """
    return split_argv(argv, [ENGINE, "fuse"], VALUED, FLAGS)


@pytest.mark.parametrize("method,device,dtype,cog,resample,tile,overlap,weights", COMBINATIONS)
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
    ],
)
def test_bad_values_are_refused_with_a_message(changes: dict, fragment: str) -> None:
    base = {"hsi_path": "/a.tif", "msi_path": "/b.tif", "output_path": "/c.tif"}
    with pytest.raises(OptionsError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        FuseOptions(**(base | changes))


def test_weights_for_a_method_without_weights_give_a_warning() -> None:
    options = FuseOptions("/a.tif", "/b.tif", "/c.tif", method="gsa", weights_path="/w.safetensors")
    assert "--weights" not in build_fuse_argv(ENGINE, options)
    [warning] = ignored_options(options)
    assert "'/w.safetensors' is ignored" in warning and "'gsa'" in warning
    assert ignored_options(FuseOptions("/a.tif", "/b.tif", "/c.tif", method="pifnet", weights_path="/w.safetensors")) == []


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
        seen_methods.add(method)
    assert seen_methods == set(METHODS)
