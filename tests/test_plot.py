import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skae import AutoEncoderTransformer
from skae.plot import (
    BottleneckCurveDisplay,
    LatentScatterDisplay,
    LossCurveDisplay,
    ReconstructionDisplay,
)

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
plt = pytest.importorskip("matplotlib.pyplot")


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X[:300] / 16).astype(np.float32), y[:300]


@pytest.fixture(scope="module")
def fitted(digits):
    X, _ = digits
    return AutoEncoderTransformer(
        n_components=4, hidden_layer_sizes=(16,), max_iter=6, random_state=0
    ).fit(X)


@pytest.fixture(scope="module")
def fitted_early(digits):
    X, _ = digits
    return AutoEncoderTransformer(
        n_components=2,
        hidden_layer_sizes=(16,),
        max_iter=7,
        early_stopping=True,
        random_state=0,
    ).fit(X)


# --------------------------------------------------------------- loss curve
def test_loss_curve_train_only(fitted):
    display = LossCurveDisplay.from_estimator(fitted)
    assert isinstance(display, LossCurveDisplay)
    assert display.ax_.figure is display.figure_
    assert len(display.ax_.get_lines()) == 1
    assert_allclose(display.line_.get_ydata(), fitted.loss_curve_)
    assert_allclose(display.line_.get_xdata(), np.arange(1, 7))
    assert display.validation_ax_ is None
    assert display.validation_line_ is None
    assert display.best_line_ is None
    assert display.ax_.get_xlabel() == "Epoch"
    assert "loss" in display.ax_.get_ylabel().lower()
    assert display.ax_.get_title() == "AutoEncoderTransformer"
    legend = [t.get_text() for t in display.ax_.get_legend().get_texts()]
    assert legend == ["training loss"]


def test_loss_curve_with_validation_on_twin_axis(fitted_early):
    display = LossCurveDisplay.from_estimator(fitted_early)
    twin = display.validation_ax_
    assert twin is not None and twin is not display.ax_
    assert twin.get_shared_x_axes().joined(twin, display.ax_)
    assert len(display.ax_.get_lines()) == 1
    assert len(twin.get_lines()) == 2  # the scores and the best-epoch marker
    assert_allclose(
        display.validation_line_.get_ydata(), fitted_early.validation_scores_
    )
    best = int(np.argmax(fitted_early.validation_scores_)) + 1
    assert_allclose(display.best_line_.get_xdata(), [best, best])
    assert "validation" in twin.get_ylabel().lower()
    legend = [t.get_text() for t in display.ax_.get_legend().get_texts()]
    assert legend == ["training loss", "validation score", f"best epoch ({best})"]


def test_loss_curve_draws_on_given_ax_with_kwargs(fitted):
    fig, ax = plt.subplots()
    display = LossCurveDisplay.from_estimator(
        fitted, ax=ax, train_kwargs={"color": "red", "label": "train"}
    )
    assert display.ax_ is ax
    assert display.figure_ is fig
    assert display.line_.get_color() == "red"
    assert display.line_.get_label() == "train"


def test_loss_curve_from_values_and_other_estimators():
    display = LossCurveDisplay(loss_curve=[3.0, 2.0, 1.5]).plot()
    assert_allclose(display.line_.get_ydata(), [3.0, 2.0, 1.5])
    assert display.ax_.get_title() == ""

    rng = np.random.RandomState(0)
    mlp = MLPRegressor(max_iter=5, early_stopping=True, random_state=0)
    with pytest.warns(Warning):
        mlp.fit(rng.normal(size=(60, 3)), rng.normal(size=60))
    display = LossCurveDisplay.from_estimator(mlp)
    assert len(display.line_.get_ydata()) == len(mlp.loss_curve_)
    assert display.validation_line_ is not None


def test_loss_curve_errors(digits):
    with pytest.raises(ValueError, match="not fitted"):
        LossCurveDisplay.from_estimator(AutoEncoderTransformer())
    pca = PCA(n_components=2).fit(digits[0])
    with pytest.raises(ValueError, match="no loss_curve_"):
        LossCurveDisplay.from_estimator(pca)


# ----------------------------------------------------------- reconstruction
def test_reconstruction_grid(fitted, digits):
    X, _ = digits
    display = ReconstructionDisplay.from_estimator(fitted, X, n_images=5)
    assert display.ax_.shape == (2, 5)
    assert display.images_.shape == (2, 5)
    assert display.figure_ is display.ax_[0, 0].figure
    assert all(len(ax.get_images()) == 1 for ax in display.ax_.ravel())
    for j in range(5):
        assert display.images_[0, j].get_array().shape == (8, 8)
        assert_allclose(display.images_[0, j].get_array(), X[j].reshape(8, 8))
    assert_allclose(
        display.images_[1, 2].get_array(),
        fitted.reconstruct(X[:5])[2].reshape(8, 8),
        rtol=1e-6,
    )
    # One colour scale for both rows: the originals' range.
    assert display.images_[1, 0].get_clim() == display.images_[0, 0].get_clim()
    assert display.ax_[0, 0].get_ylabel() == "original"
    assert display.ax_[1, 0].get_ylabel() == "reconstruction"
    assert display.figure_.get_suptitle() == "AutoEncoderTransformer"


def test_reconstruction_n_images_capped_by_rows(fitted, digits):
    display = ReconstructionDisplay.from_estimator(fitted, digits[0][:3])
    assert display.ax_.shape == (2, 3)


def test_reconstruction_image_shape_explicit_and_inferred():
    rng = np.random.RandomState(0)
    X = rng.uniform(size=(40, 24)).astype(np.float32)  # 24 is no square
    ae = AutoEncoderTransformer(
        n_components=2, hidden_layer_sizes=(8,), max_iter=2, random_state=0
    ).fit(X)
    with pytest.raises(ValueError, match="image_shape"):
        ReconstructionDisplay.from_estimator(ae, X)
    display = ReconstructionDisplay.from_estimator(ae, X, image_shape=(4, 6))
    assert display.images_[0, 0].get_array().shape == (4, 6)
    with pytest.raises(ValueError, match="image_shape"):
        ReconstructionDisplay.from_estimator(ae, X, image_shape=(5, 5))

    # A conv estimator's (C, H, W) input_shape is used; colour goes last.
    conv = AutoEncoderTransformer(
        n_components=2,
        architecture="conv",
        input_shape=(3, 2, 4),
        hidden_layer_sizes=(4,),
        max_iter=2,
        random_state=0,
    ).fit(X)
    display = ReconstructionDisplay.from_estimator(conv, X, n_images=2)
    assert display.images_[0, 0].get_array().shape == (2, 4, 3)
    grey = AutoEncoderTransformer(
        n_components=2,
        architecture="conv",
        input_shape=(1, 4, 6),
        hidden_layer_sizes=(4,),
        max_iter=2,
        random_state=0,
    ).fit(X)
    display = ReconstructionDisplay.from_estimator(grey, X, n_images=2)
    assert display.images_[1, 1].get_array().shape == (4, 6)


def test_reconstruction_on_single_ax_and_axes_array(fitted, digits):
    X, _ = digits
    fig, ax = plt.subplots()
    display = ReconstructionDisplay.from_estimator(fitted, X, n_images=4, ax=ax)
    assert display.figure_ is fig
    assert not ax.axison  # the given axes only frames the grid
    assert len(fig.axes) == 1 + 8

    fig, axes = plt.subplots(2, 3)
    display = ReconstructionDisplay.from_estimator(fitted, X, n_images=3, ax=axes)
    assert display.ax_[1, 2] is axes[1, 2]
    with pytest.raises(ValueError, match=r"shape \(2, 4\)"):
        ReconstructionDisplay.from_estimator(fitted, X, n_images=4, ax=axes)
    free = plt.figure().add_axes((0.1, 0.1, 0.8, 0.8))
    with pytest.raises(ValueError, match="must be a subplot"):
        ReconstructionDisplay.from_estimator(fitted, X, n_images=4, ax=free)


def test_reconstruction_errors(digits):
    X, _ = digits
    with pytest.raises(ValueError, match="no reconstruct method"):
        ReconstructionDisplay.from_estimator(PCA(n_components=2).fit(X), X)
    fitted = AutoEncoderTransformer(max_iter=1, hidden_layer_sizes=(4,)).fit(X)
    with pytest.raises(ValueError, match="n_images"):
        ReconstructionDisplay.from_estimator(fitted, X, n_images=0)
    with pytest.raises(ValueError, match="same shape"):
        ReconstructionDisplay(
            originals=X[:2], reconstructions=X[:3], image_shape=(8, 8)
        ).plot()


# ------------------------------------------------------------ latent scatter
def test_latent_scatter_classes(fitted_early, digits):
    X, y = digits
    display = LatentScatterDisplay.from_estimator(fitted_early, X, y)
    codes = fitted_early.transform(X)
    assert len(display.scatter_.get_offsets()) == len(X)
    assert_allclose(display.scatter_.get_offsets(), codes, rtol=1e-6)
    legend = [t.get_text() for t in display.legend_.get_texts()]
    assert legend == [str(k) for k in range(10)]
    colors = display.scatter_.get_facecolors()
    assert len({tuple(c) for c in colors}) == 10
    # Points of one class share a colour.
    assert_allclose(colors[y == 3], np.tile(colors[y == 3][0], ((y == 3).sum(), 1)))
    assert display.colorbar_ is None
    assert display.ax_.get_xlabel() == "Component 1"
    assert display.ax_.get_ylabel() == "Component 2"
    assert display.ax_.get_title() == "AutoEncoderTransformer"
    assert display.figure_ is display.ax_.figure


def test_latent_scatter_more_components_says_so(fitted, digits):
    X, y = digits
    display = LatentScatterDisplay.from_estimator(fitted, X)
    assert_allclose(display.scatter_.get_offsets(), fitted.transform(X)[:, :2])
    assert "first 2 of 4 components" in display.ax_.get_title()
    assert display.legend_ is None and display.colorbar_ is None


def test_latent_scatter_string_and_continuous_labels():
    rng = np.random.RandomState(0)
    codes = rng.normal(size=(30, 2))
    labels = np.array(["cat", "dog", "emu"] * 10)
    display = LatentScatterDisplay(codes=codes, labels=labels).plot()
    assert [t.get_text() for t in display.legend_.get_texts()] == [
        "cat",
        "dog",
        "emu",
    ]
    display = LatentScatterDisplay(codes=codes, labels=rng.normal(size=30)).plot(
        cmap="plasma"
    )
    assert display.legend_ is None
    assert display.colorbar_ is not None
    assert display.scatter_.get_cmap().name == "plasma"
    assert len(display.figure_.axes) == 2  # the scatter and its colour bar


def test_latent_scatter_in_pipeline_and_given_ax(digits):
    X, y = digits
    pipe = make_pipeline(
        StandardScaler(),
        AutoEncoderTransformer(hidden_layer_sizes=(8,), max_iter=2, random_state=0),
    ).fit(X)
    fig, ax = plt.subplots()
    display = LatentScatterDisplay.from_estimator(
        pipe, X, y, ax=ax, scatter_kwargs={"s": 3}
    )
    assert display.ax_ is ax
    assert_allclose(display.scatter_.get_sizes(), [3])
    assert display.ax_.get_title() == "Pipeline"


def test_latent_scatter_errors():
    with pytest.raises(ValueError, match="at least 2 components"):
        LatentScatterDisplay(codes=np.zeros((5, 1))).plot()
    with pytest.raises(ValueError, match="one per code"):
        LatentScatterDisplay(codes=np.zeros((5, 2)), labels=[1, 2]).plot()


# ------------------------------------------------------- matplotlib missing
@pytest.mark.parametrize(
    "call",
    [
        lambda est, X: LossCurveDisplay.from_estimator(est),
        lambda est, X: ReconstructionDisplay.from_estimator(est, X),
        lambda est, X: LatentScatterDisplay.from_estimator(est, X),
        lambda est, X: LossCurveDisplay(loss_curve=[1.0]).plot(),
    ],
)
def test_missing_matplotlib_explains_how_to_install(monkeypatch, fitted, digits, call):
    # A None entry in sys.modules makes `import` raise ImportError.
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"pip install skae\[plot\]"):
        call(fitted, digits[0])


# ------------------------------------------------------- bottleneck curve
def test_bottleneck_curve_draws_the_sizes_tried_and_pca_on_the_same_split(digits):
    X, _ = digits
    ae = AutoEncoderTransformer(
        n_components=0.3, hidden_layer_sizes=(16,), max_iter=5, random_state=0
    ).fit(X)
    display = BottleneckCurveDisplay.from_estimator(ae, X)
    sizes = sorted(ae.bottleneck_scores_)
    assert list(display.line_.get_xdata()) == sizes
    expected = [ae.bottleneck_scores_[k] for k in sizes]
    assert_allclose(display.line_.get_ydata(), expected)
    assert display.chosen_line_.get_xdata()[0] == ae.n_components_
    # PCA's R² rises with the size, on the estimator's own held-out rows.
    pca_r2 = display.pca_line_.get_ydata()
    assert list(display.pca_line_.get_xdata()) == sizes
    assert np.all(np.diff(pca_r2) > 0) and 0 < pca_r2[0] < 1


def test_bottleneck_curve_needs_a_fractional_fit(fitted):
    with pytest.raises(ValueError, match="float n_components"):
        BottleneckCurveDisplay.from_estimator(fitted)
