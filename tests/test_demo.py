"""The demo (python -m skae.demo): its table, its figure and its fallbacks."""

import math
import re
import struct
import sys

import pytest
import torch

from skae import demo

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ROW = re.compile(r"^\s*(\d+) \|(.*)$")


def table_rows(text):
    """Cells of the table's data lines, keyed by k."""
    rows = {}
    for line in text.splitlines():
        match = ROW.match(line)
        if match:
            rows[int(match.group(1))] = [c.strip() for c in match.group(2).split("|")]
    return rows


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_quick_main_prints_table_and_writes_png(tmp_path, capsys):
    threads = torch.get_num_threads()
    output = tmp_path / "r.png"
    rows = demo.main(["--quick", "--output", str(output)])
    out = capsys.readouterr()

    assert "float32" in out.out
    lines = out.out.splitlines()
    header = next(line for line in lines if line.lstrip().startswith("k |"))
    assert [c.strip() for c in header.split("|")] == [
        "k",
        "PCA MSE",
        "AE MSE",
        "AE/PCA",
        "PCA acc",
        "AE acc",
        "PCA fit s",
        "AE fit s",
    ]
    printed = table_rows(out.out)
    assert sorted(printed) == [2, 4, 8, 16]
    for cells in printed.values():
        assert len(cells) == 7
        pca_mse, ae_mse, ratio, pca_acc, ae_acc, pca_s, ae_s = map(float, cells)
        assert 0 < pca_mse < 0.2 and 0 < ae_mse < 0.2
        assert ratio == pytest.approx(ae_mse / pca_mse, rel=0.02)
        assert 0.1 <= pca_acc <= 1 and 0.1 <= ae_acc <= 1
        assert pca_s >= 0 and ae_s > 0

    # PCA's held-out error falls as k grows; the returned rows match the table.
    pca_errors = [float(printed[k][0]) for k in (2, 4, 8, 16)]
    assert pca_errors == sorted(pca_errors, reverse=True)
    assert [row["k"] for row in rows] == [2, 4, 8, 16]
    assert all(row["ae"].n_iter_ == demo.QUICK_MAX_ITER for row in rows)
    assert all(math.isfinite(row["ae_mse"]) for row in rows)

    # The progress bar went to stderr and named what was training.
    assert "Training autoencoder (k=16" in out.err
    assert "8/8" in out.err

    # The figure: a valid PNG, wider than tall (3 rows x 8 digits), not tiny.
    assert f"Figure written to {output}" in out.out
    width, height = png_size(output)
    assert width > height >= 150
    assert output.stat().st_size > 5_000
    import matplotlib.image

    assert matplotlib.image.imread(output).shape[:2] == (height, width)

    # Training used one thread, and torch's setting came back afterwards.
    assert torch.get_num_threads() == threads


def test_format_table_on_hand_made_rows():
    rows = [
        {
            "k": 2,
            "pca_mse": 0.054041,
            "ae_mse": 0.036456,
            "ratio": 0.674603,
            "pca_accuracy": 0.5911,
            "ae_accuracy": 0.7311,
            "pca_fit_s": 0.1042,
            "ae_fit_s": 6.034,
            "ae": object(),  # extra keys are ignored
        },
        {
            "k": 16,
            "pca_mse": 0.0119,
            "ae_mse": 0.00988,
            "ratio": 0.83025,
            "pca_accuracy": 0.94888,
            "ae_accuracy": 0.9444,
            "pca_fit_s": 0.1456,
            "ae_fit_s": 123.456,
        },
    ]
    table = demo.format_table(rows)
    lines = table.split("\n")

    assert len(lines) == 4
    assert set(lines[1]) <= {"-", "+"}
    assert len({len(line) for line in lines}) == 1  # columns line up
    assert [line.index("|") for line in lines[2:]] == [lines[0].index("|")] * 2
    assert lines[2].startswith(" 2 | ") and lines[2].endswith(" | " + "6.03".rjust(8))
    assert [c.strip() for c in lines[2].split("|")] == [
        "2",
        "0.05404",
        "0.03646",
        "0.675",
        "0.591",
        "0.731",
        "0.104",
        "6.03",
    ]
    assert [c.strip() for c in lines[3].split("|")] == [
        "16",
        "0.01190",
        "0.00988",
        "0.830",
        "0.949",
        "0.944",
        "0.146",
        "123.46",
    ]
    assert demo.format_table([]).count("\n") == 1  # header and rule only


class Identity:
    """Stands in for a fitted PCA and autoencoder: reconstructs perfectly."""

    def transform(self, X):
        return X

    inverse_transform = reconstruct = transform


def test_missing_matplotlib_skips_the_figure(tmp_path, capsys, monkeypatch):
    fake_row = {
        "k": 8,
        "pca_mse": 0.02,
        "ae_mse": 0.01,
        "ratio": 0.5,
        "pca_accuracy": 0.9,
        "ae_accuracy": 0.9,
        "pca_fit_s": 0.1,
        "ae_fit_s": 1.0,
        "ae_epochs": 5,
        "ae_converged": True,
        "pca": Identity(),
        "ae": Identity(),
    }
    monkeypatch.setattr(demo, "run", lambda k_values, max_iter: [fake_row])
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails
    output = tmp_path / "r.png"

    demo.main(["--output", str(output)])
    out = capsys.readouterr().out

    assert sorted(table_rows(out)) == [8]
    assert "matplotlib is not installed" in out
    assert "Figure written" not in out
    assert not output.exists()


def test_plot_reconstructions_without_matplotlib_raises(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError):
        demo.plot_reconstructions([], [], [], tmp_path / "x.png")
