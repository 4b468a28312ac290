"""Plots of fitted autoencoders, in scikit-learn's Display pattern.

Each display is built from a fitted estimator with ``from_estimator`` (or
from precomputed values with its constructor, then :meth:`plot`) and keeps
the matplotlib objects it drew as attributes ending in ``_``, as
:class:`sklearn.metrics.ConfusionMatrixDisplay` does.

matplotlib is an optional dependency, imported only when something is drawn:
``pip install skae[plot]`` installs it.
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted

__all__ = [
    "BottleneckCurveDisplay",
    "LatentScatterDisplay",
    "LossCurveDisplay",
    "ReconstructionDisplay",
]


def _pyplot(caller):
    """Import and return :mod:`matplotlib.pyplot`, or explain how to get it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            f"{caller} requires matplotlib, which is not installed. "
            "Install it with `pip install skae[plot]` (or `pip install matplotlib`)."
        ) from exc
    return plt


def _estimator_name(estimator):
    return type(estimator).__name__


class LossCurveDisplay:
    """Training loss and validation score of each epoch.

    The training loss (``loss_curve_``: the per-row loss, penalties
    included) is drawn against the epoch on the left axis. When the
    estimator was fitted with ``early_stopping=True``, its
    ``validation_scores_`` (for the autoencoders, the reconstruction R² of
    the held-out rows; higher is better) are drawn
    on a twin axis on the right, as the two are on different scales, and
    the epoch of the best score, whose weights were kept, is marked.

    Use :meth:`from_estimator` to create a display from a fitted estimator.
    Works with any estimator that has ``loss_curve_`` (and optionally
    ``validation_scores_``), :class:`~sklearn.neural_network.MLPRegressor`
    included.

    Parameters
    ----------
    loss_curve : array-like of shape (n_epochs,)
        Training loss of each epoch.

    validation_scores : array-like of shape (n_epochs,), default=None
        Validation score of each epoch, or None when there is none.

    estimator_name : str, default=None
        Name of the estimator, used in the title. None shows no title.

    Attributes
    ----------
    ax_ : matplotlib Axes
        Axes of the training loss.

    figure_ : matplotlib Figure
        Figure containing the curves.

    line_ : matplotlib Line2D
        The training loss curve.

    validation_ax_ : matplotlib Axes or None
        Twin axes of the validation score; None without validation scores.

    validation_line_ : matplotlib Line2D or None
        The validation score curve; None without validation scores.

    best_line_ : matplotlib Line2D or None
        Vertical line at the epoch of the best validation score; None
        without validation scores.

    See Also
    --------
    ReconstructionDisplay : Originals over their reconstructions.
    LatentScatterDisplay : Two-dimensional scatter of the codes.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoEncoderTransformer
    >>> from skae.plot import LossCurveDisplay
    >>> X = load_digits().data[:500] / 16
    >>> ae = AutoEncoderTransformer(n_components=8, max_iter=10,
    ...                             early_stopping=True, random_state=0).fit(X)
    >>> display = LossCurveDisplay.from_estimator(ae)
    >>> len(display.line_.get_xdata())
    10
    >>> plt.show()
    """

    def __init__(self, *, loss_curve, validation_scores=None, estimator_name=None):
        self.loss_curve = loss_curve
        self.validation_scores = validation_scores
        self.estimator_name = estimator_name

    def plot(self, ax=None, *, train_kwargs=None, validation_kwargs=None):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw the training loss on; the validation score goes on
            its twin. None creates a new figure and axes.

        train_kwargs : dict, default=None
            Keyword arguments passed to :meth:`matplotlib.axes.Axes.plot`
            for the training loss.

        validation_kwargs : dict, default=None
            Keyword arguments passed to :meth:`matplotlib.axes.Axes.plot`
            for the validation score.

        Returns
        -------
        display : LossCurveDisplay
            Object that stores the computed values and the drawn artists.
        """
        plt = _pyplot("LossCurveDisplay.plot")
        if ax is None:
            _, ax = plt.subplots(layout="constrained")
        loss = np.asarray(self.loss_curve, dtype=float)
        epochs = np.arange(1, len(loss) + 1)
        (self.line_,) = ax.plot(
            epochs,
            loss,
            **{"color": "C0", "label": "training loss", **(train_kwargs or {})},
        )
        ax.set_xlabel("Epoch")
        ax.set_ylabel("Training loss (per row)")
        lines = [self.line_]
        self.validation_ax_ = self.validation_line_ = self.best_line_ = None
        if self.validation_scores is not None:
            scores = np.asarray(self.validation_scores, dtype=float)
            twin = ax.twinx()
            (self.validation_line_,) = twin.plot(
                np.arange(1, len(scores) + 1),
                scores,
                **{
                    "color": "C1",
                    "label": "validation score",
                    **(validation_kwargs or {}),
                },
            )
            best = int(np.argmax(scores)) + 1
            self.best_line_ = twin.axvline(
                best, color="0.5", linestyle=":", label=f"best epoch ({best})"
            )
            twin.set_ylabel("Validation score (higher is better)")
            self.validation_ax_ = twin
            lines += [self.validation_line_, self.best_line_]
        # A loss falls and a score rises: the middle right is usually free.
        location = "best" if self.validation_ax_ is None else "center right"
        ax.legend(lines, [line.get_label() for line in lines], loc=location)
        if self.estimator_name is not None:
            ax.set_title(self.estimator_name)
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_estimator(
        cls, estimator, *, ax=None, train_kwargs=None, validation_kwargs=None
    ):
        """Plot the loss curve of a fitted estimator.

        Parameters
        ----------
        estimator : estimator instance
            A fitted estimator with a ``loss_curve_`` attribute and, when
            fitted with early stopping, ``validation_scores_``.

        ax : matplotlib Axes, default=None
            Axes to draw on. None creates a new figure and axes.

        train_kwargs : dict, default=None
            Keyword arguments passed to :meth:`matplotlib.axes.Axes.plot`
            for the training loss.

        validation_kwargs : dict, default=None
            Keyword arguments passed to :meth:`matplotlib.axes.Axes.plot`
            for the validation score.

        Returns
        -------
        display : LossCurveDisplay
            Object that stores the computed values and the drawn artists.
        """
        _pyplot("LossCurveDisplay.from_estimator")
        check_is_fitted(estimator)
        if not hasattr(estimator, "loss_curve_"):
            raise ValueError(
                f"{_estimator_name(estimator)} has no loss_curve_ attribute; "
                "LossCurveDisplay needs an estimator trained epoch by epoch."
            )
        display = cls(
            loss_curve=estimator.loss_curve_,
            validation_scores=getattr(estimator, "validation_scores_", None),
            estimator_name=_estimator_name(estimator),
        )
        return display.plot(
            ax=ax, train_kwargs=train_kwargs, validation_kwargs=validation_kwargs
        )


def _default_image_shape(estimator, n_features):
    """``image_shape`` for :class:`ReconstructionDisplay` when none is given."""
    shape = getattr(estimator, "input_shape", None)
    if shape is not None and len(shape) == 3 and -1 not in shape:
        channels, height, width = shape
        if channels == 1:
            return (height, width)
        if channels in (3, 4):
            return (channels, height, width)
    side = int(round(np.sqrt(n_features)))
    if side * side == n_features:
        return (side, side)
    raise ValueError(
        f"Cannot guess the image shape of rows of {n_features} features; "
        "pass image_shape=(height, width) or (channels, height, width)."
    )


def _as_images(rows, image_shape):
    """Reshape flat rows to images matplotlib can show: (n, H, W[, C])."""
    images = rows.reshape((rows.shape[0], *image_shape))
    if len(image_shape) == 3:  # (C, H, W) as skae's conv architecture views it
        images = np.moveaxis(images, 1, -1)
        if images.shape[-1] == 1:
            images = images[..., 0]
    return images


def _checked_reconstructions(originals, reconstructions, image_shape):
    """Check the arrays and the image shape; return them as floats and a tuple."""
    originals = np.asarray(originals, dtype=float)
    reconstructions = np.asarray(reconstructions, dtype=float)
    if originals.ndim != 2 or originals.shape != reconstructions.shape:
        raise ValueError(
            "originals and reconstructions must be 2-D arrays of the same "
            f"shape; got {originals.shape} and {reconstructions.shape}."
        )
    n_features = originals.shape[1]
    image_shape = tuple(image_shape)
    if int(np.prod(image_shape)) != n_features or len(image_shape) not in (2, 3):
        raise ValueError(
            f"image_shape={image_shape} does not fit rows of {n_features} "
            "features; give (height, width) or (channels, height, width) "
            "whose product is the number of features."
        )
    return originals, reconstructions, image_shape


def _reconstruction_axes(plt, ax, n_images):
    """Return the figure and the (2, n_images) grid of Axes to draw on.

    ``ax`` is None (a new figure), a single subplot (divided into the grid
    and hidden) or an array of Axes of the grid's shape.
    """
    grid = (2, n_images)
    if ax is None:
        return plt.subplots(
            *grid,
            figsize=(1.2 * n_images, 2.6),
            squeeze=False,
            layout="constrained",
        )
    if isinstance(ax, plt.Axes):
        fig = ax.figure
        spec = ax.get_subplotspec()
        if spec is None:
            raise ValueError(
                "A single ax must be a subplot (from plt.subplots or "
                "fig.add_subplot) to be divided into the grid."
            )
        cells = spec.subgridspec(*grid, wspace=0.05, hspace=0.05)
        ax.set_axis_off()
        axes = np.array(
            [[fig.add_subplot(cells[i, j]) for j in range(n_images)] for i in range(2)]
        )
        return fig, axes
    axes = np.asarray(ax, dtype=object)
    if axes.shape != grid:
        raise ValueError(
            f"ax must have shape {grid} (originals over reconstructions), "
            f"got {axes.shape}."
        )
    return axes[0, 0].figure, axes


def _show_images(row_axes, rows, image_shape, kwargs):
    """Draw each row as an image on its Axes, without ticks; return the images."""
    pictures = _as_images(rows, image_shape)
    if pictures.ndim == 4:  # colour: imshow takes no colour map, needs [0, 1]
        low, high = kwargs["vmin"], kwargs["vmax"]
        pictures = np.clip((pictures - low) / ((high - low) or 1.0), 0, 1)
    images = []
    for picture, ax in zip(pictures, row_axes, strict=True):
        images.append(ax.imshow(picture, **kwargs))
        ax.set_xticks([])
        ax.set_yticks([])
    return images


class ReconstructionDisplay:
    """Grid of images over their reconstructions.

    The top row shows the original images, the bottom row their
    reconstructions by the autoencoder, drawn with the same colour scale so
    that a loss of contrast shows. Rows of X are flat; ``image_shape`` says
    how to view them.

    Use :meth:`from_estimator` to create a display from a fitted
    autoencoder.

    Parameters
    ----------
    originals : ndarray of shape (n_images, n_features)
        The original rows.

    reconstructions : ndarray of shape (n_images, n_features)
        Their reconstructions.

    image_shape : tuple of int
        How one row is viewed: ``(height, width)`` for grey images, or
        ``(channels, height, width)`` as the "conv" architecture views rows
        (channels 1, 3 or 4).

    estimator_name : str, default=None
        Name of the estimator, used in the title. None shows no title.

    Attributes
    ----------
    ax_ : ndarray of matplotlib Axes of shape (2, n_images)
        The grid: originals in ``ax_[0]``, reconstructions in ``ax_[1]``.

    figure_ : matplotlib Figure
        Figure containing the grid.

    images_ : ndarray of matplotlib AxesImage of shape (2, n_images)
        The drawn images, in the layout of ``ax_``.

    See Also
    --------
    LossCurveDisplay : Training loss and validation score per epoch.
    LatentScatterDisplay : Two-dimensional scatter of the codes.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoEncoderTransformer
    >>> from skae.plot import ReconstructionDisplay
    >>> X = load_digits().data[:500] / 16
    >>> ae = AutoEncoderTransformer(n_components=8, max_iter=10,
    ...                             random_state=0).fit(X)
    >>> display = ReconstructionDisplay.from_estimator(ae, X, n_images=6)
    >>> display.ax_.shape
    (2, 6)
    >>> plt.show()
    """

    def __init__(self, *, originals, reconstructions, image_shape, estimator_name=None):
        self.originals = originals
        self.reconstructions = reconstructions
        self.image_shape = image_shape
        self.estimator_name = estimator_name

    def plot(self, ax=None, *, imshow_kwargs=None):
        """Draw the grid.

        Parameters
        ----------
        ax : matplotlib Axes or array-like of Axes, default=None
            Where to draw. None creates a new figure. A single Axes is
            divided into the grid (and hidden). An array of Axes must have
            shape (2, n_images).

        imshow_kwargs : dict, default=None
            Keyword arguments passed to :meth:`matplotlib.axes.Axes.imshow`;
            by default the grey colour map and the originals' value range.

        Returns
        -------
        display : ReconstructionDisplay
            Object that stores the computed values and the drawn artists.
        """
        plt = _pyplot("ReconstructionDisplay.plot")
        originals, reconstructions, image_shape = _checked_reconstructions(
            self.originals, self.reconstructions, self.image_shape
        )
        fig, axes = _reconstruction_axes(plt, ax, n_images=originals.shape[0])
        kwargs = {
            "cmap": "gray_r",
            "vmin": originals.min(),
            "vmax": originals.max(),
            "interpolation": "nearest",
            **(imshow_kwargs or {}),
        }
        images = np.empty(axes.shape, dtype=object)
        for i, rows in enumerate((originals, reconstructions)):
            images[i] = _show_images(axes[i], rows, image_shape, kwargs)
        axes[0, 0].set_ylabel("original")
        axes[1, 0].set_ylabel("reconstruction")
        if self.estimator_name is not None:
            fig.suptitle(self.estimator_name)
        self.ax_ = axes
        self.images_ = images
        self.figure_ = fig
        return self

    @classmethod
    def from_estimator(
        cls, estimator, X, *, image_shape=None, n_images=10, ax=None, imshow_kwargs=None
    ):
        """Show the first rows of X over their reconstructions.

        Parameters
        ----------
        estimator : estimator instance
            A fitted autoencoder with a ``reconstruct`` method (any skae
            autoencoder).

        X : array-like of shape (n_samples, n_features)
            Rows to show, as flat images; the first ``n_images`` are drawn.

        image_shape : tuple of int, default=None
            ``(height, width)`` or ``(channels, height, width)``. None uses
            the estimator's ``input_shape`` when it is an image shape
            ``(C, H, W)`` with 1, 3 or 4 channels, and otherwise square
            images, which needs a square number of features.

        n_images : int, default=10
            Number of images to show (at most the number of rows of X).

        ax : matplotlib Axes or array-like of Axes, default=None
            Where to draw; see :meth:`plot`.

        imshow_kwargs : dict, default=None
            Keyword arguments passed to :meth:`matplotlib.axes.Axes.imshow`.

        Returns
        -------
        display : ReconstructionDisplay
            Object that stores the computed values and the drawn artists.
        """
        _pyplot("ReconstructionDisplay.from_estimator")
        check_is_fitted(estimator)
        if not hasattr(estimator, "reconstruct"):
            raise ValueError(
                f"{_estimator_name(estimator)} has no reconstruct method; "
                "ReconstructionDisplay needs a skae autoencoder."
            )
        if not isinstance(n_images, (int, np.integer)) or n_images < 1:
            raise ValueError(f"n_images must be a positive int, got {n_images!r}.")
        X = X[:n_images]
        originals = np.asarray(X.toarray() if hasattr(X, "toarray") else X)
        if originals.ndim != 2:
            raise ValueError(
                f"X must be 2-D (n_samples, n_features); got shape {originals.shape}."
            )
        if image_shape is None:
            image_shape = _default_image_shape(estimator, originals.shape[1])
        display = cls(
            originals=originals,
            reconstructions=estimator.reconstruct(X),
            image_shape=image_shape,
            estimator_name=_estimator_name(estimator),
        )
        return display.plot(ax=ax, imshow_kwargs=imshow_kwargs)


class LatentScatterDisplay:
    """Scatter plot of two-dimensional codes, coloured by label.

    Each row of X is a point at its code. With more than two components,
    the first two are drawn and the title says so. Labels with few distinct
    values (classes) get one colour each and a legend; numeric labels with
    many distinct values (a continuous target) a colour bar.

    Use :meth:`from_estimator` to create a display from a fitted
    transformer.

    Parameters
    ----------
    codes : ndarray of shape (n_samples, n_components)
        The codes, at least two components.

    labels : array-like of shape (n_samples,), default=None
        Labels to colour the points by. None draws them in one colour.

    estimator_name : str, default=None
        Name of the estimator, used in the title. None shows no name.

    Attributes
    ----------
    ax_ : matplotlib Axes
        Axes with the scatter plot.

    figure_ : matplotlib Figure
        Figure containing the scatter plot.

    scatter_ : matplotlib PathCollection
        The drawn points.

    legend_ : matplotlib Legend or None
        The class legend; None without labels or with continuous labels.

    colorbar_ : matplotlib Colorbar or None
        The colour bar of continuous labels; None otherwise.

    See Also
    --------
    LossCurveDisplay : Training loss and validation score per epoch.
    ReconstructionDisplay : Originals over their reconstructions.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoEncoderTransformer
    >>> from skae.plot import LatentScatterDisplay
    >>> X, y = load_digits(return_X_y=True)
    >>> X, y = X[:500] / 16, y[:500]
    >>> ae = AutoEncoderTransformer(n_components=2, max_iter=10,
    ...                             random_state=0).fit(X)
    >>> display = LatentScatterDisplay.from_estimator(ae, X, y)
    >>> len(display.scatter_.get_offsets())
    500
    >>> plt.show()
    """

    # Numeric labels with more distinct values than this get a colour bar.
    _max_classes = 20

    def __init__(self, *, codes, labels=None, estimator_name=None):
        self.codes = codes
        self.labels = labels
        self.estimator_name = estimator_name

    def plot(self, ax=None, *, cmap=None, scatter_kwargs=None):
        """Draw the scatter plot.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on. None creates a new figure and axes.

        cmap : str or matplotlib Colormap, default=None
            Colour map of the labels. None uses "tab10" for up to 10
            classes, "tab20" for more and "viridis" for continuous
            labels.

        scatter_kwargs : dict, default=None
            Keyword arguments passed to :meth:`matplotlib.axes.Axes.scatter`.

        Returns
        -------
        display : LatentScatterDisplay
            Object that stores the computed values and the drawn artists.
        """
        plt = _pyplot("LatentScatterDisplay.plot")
        codes = np.asarray(self.codes, dtype=float)
        if codes.ndim != 2 or codes.shape[1] < 2:
            raise ValueError(
                "LatentScatterDisplay needs codes of at least 2 components; got "
                f"shape {codes.shape}."
            )
        n_components = codes.shape[1]
        if ax is None:
            _, ax = plt.subplots(layout="constrained")
        kwargs = {"s": 8, "alpha": 0.8, **(scatter_kwargs or {})}
        self.legend_ = self.colorbar_ = None
        if self.labels is None:
            self.scatter_ = ax.scatter(codes[:, 0], codes[:, 1], **kwargs)
        else:
            self._scatter_labels(plt, ax, codes, cmap, kwargs)
        ax.set_xlabel("Component 1")
        ax.set_ylabel("Component 2")
        title = [] if self.estimator_name is None else [self.estimator_name]
        if n_components > 2:
            title.append(f"first 2 of {n_components} components")
        if title:
            ax.set_title(": ".join(title))
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    def _scatter_labels(self, plt, ax, codes, cmap, kwargs):
        """Draw the codes coloured by label, with a colour bar or a legend."""
        labels = np.asarray(self.labels)
        if labels.shape != (codes.shape[0],):
            raise ValueError(
                f"labels must have shape ({codes.shape[0]},), one per code; "
                f"got {labels.shape}."
            )
        classes, index = np.unique(labels, return_inverse=True)
        if labels.dtype.kind in "fiu" and len(classes) > self._max_classes:
            self.scatter_ = ax.scatter(
                codes[:, 0],
                codes[:, 1],
                c=labels.astype(float),
                cmap=cmap or "viridis",
                **kwargs,
            )
            self.colorbar_ = ax.figure.colorbar(self.scatter_, ax=ax)
            return
        colors = _class_colors(cmap, len(classes))
        self.scatter_ = ax.scatter(codes[:, 0], codes[:, 1], c=colors[index], **kwargs)
        handles = [
            plt.Line2D([], [], linestyle="", marker="o", color=color)
            for color in colors
        ]
        self.legend_ = ax.legend(
            handles,
            [str(c) for c in classes],
            title="label",
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            borderaxespad=0.0,
            fontsize="small",
        )

    @classmethod
    def from_estimator(
        cls, estimator, X, y=None, *, ax=None, cmap=None, scatter_kwargs=None
    ):
        """Plot the codes of X coloured by y.

        Parameters
        ----------
        estimator : estimator instance
            A fitted transformer, such as a skae autoencoder or a Pipeline
            ending in one; ``estimator.transform(X)`` gives the codes.

        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to encode and draw.

        y : array-like of shape (n_samples,), default=None
            Labels to colour the points by. None draws them in one colour.

        ax : matplotlib Axes, default=None
            Axes to draw on. None creates a new figure and axes.

        cmap : str or matplotlib Colormap, default=None
            Colour map of the labels; see :meth:`plot`.

        scatter_kwargs : dict, default=None
            Keyword arguments passed to :meth:`matplotlib.axes.Axes.scatter`.

        Returns
        -------
        display : LatentScatterDisplay
            Object that stores the computed values and the drawn artists.
        """
        _pyplot("LatentScatterDisplay.from_estimator")
        check_is_fitted(estimator)
        display = cls(
            codes=estimator.transform(X),
            labels=y,
            estimator_name=_estimator_name(estimator),
        )
        return display.plot(ax=ax, cmap=cmap, scatter_kwargs=scatter_kwargs)


def _class_colors(cmap, n_classes):
    """One RGBA colour per class: distinct entries of a qualitative map."""
    import matplotlib

    if cmap is None:
        cmap = "tab10" if n_classes <= 10 else "tab20"
    if isinstance(cmap, str):
        cmap = matplotlib.colormaps[cmap]
    if isinstance(cmap, matplotlib.colors.ListedColormap) and cmap.N >= n_classes:
        return cmap(np.arange(n_classes))
    return cmap(np.linspace(0, 1, n_classes))


class BottleneckCurveDisplay:
    """Held-out R² against the bottleneck size: the "explained variance" curve.

    A float ``n_components`` makes an autoencoder try several bottleneck
    sizes and keep the smallest whose held-out reconstruction R² reaches the
    fraction asked for; ``bottleneck_scores_`` keeps the R² of every size
    tried. This display draws them, like PCA's cumulative explained
    variance ratio, and with ``X`` also PCA's held-out R² on the same rows
    for comparison. Read it as you would PCA's curve: pick the size where
    the curve flattens, without labels.

    Use :meth:`from_estimator` to create a display from a fitted estimator.

    Parameters
    ----------
    sizes : array-like of int
        The bottleneck sizes tried, increasing.

    scores : array-like of float
        The held-out R² of each size.

    pca_sizes : array-like of int, default=None
        Sizes at which PCA's held-out R² is drawn too; None draws none.

    pca_scores : array-like of float, default=None
        PCA's held-out R² at ``pca_sizes``.

    chosen : int, default=None
        The size the estimator kept, marked; None marks none.

    estimator_name : str, default=None
        Name of the estimator, used in the title. None shows no title.

    Attributes
    ----------
    ax_ : matplotlib Axes
        Axes of the curves.

    figure_ : matplotlib Figure
        Figure containing the curves.

    line_ : matplotlib Line2D
        The autoencoder's R² curve.

    pca_line_ : matplotlib Line2D or None
        PCA's R² curve; None without PCA's scores.

    chosen_line_ : matplotlib Line2D or None
        Vertical line at the chosen size; None without one.

    See Also
    --------
    LossCurveDisplay : Training loss and validation score of each epoch.
    sklearn.decomposition.PCA : Its ``explained_variance_ratio_`` is the
        linear counterpart of this curve.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoEncoderTransformer
    >>> from skae.plot import BottleneckCurveDisplay
    >>> X = load_digits().data[:500] / 16
    >>> ae = AutoEncoderTransformer(n_components=0.5, max_iter=10,
    ...                             random_state=0).fit(X)
    >>> display = BottleneckCurveDisplay.from_estimator(ae, X)
    >>> len(display.line_.get_xdata()) == len(ae.bottleneck_scores_)
    True
    >>> plt.show()
    """

    def __init__(
        self,
        *,
        sizes,
        scores,
        pca_sizes=None,
        pca_scores=None,
        chosen=None,
        estimator_name=None,
    ):
        self.sizes = sizes
        self.scores = scores
        self.pca_sizes = pca_sizes
        self.pca_scores = pca_scores
        self.chosen = chosen
        self.estimator_name = estimator_name

    def plot(self, ax=None):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on. None creates a new figure and axes.

        Returns
        -------
        display : BottleneckCurveDisplay
            Object that stores the computed values and the drawn artists.
        """
        plt = _pyplot("BottleneckCurveDisplay.plot")
        if ax is None:
            _, ax = plt.subplots(layout="constrained")
        (self.line_,) = ax.plot(
            self.sizes, self.scores, "o-", color="C0", label="autoencoder"
        )
        self.pca_line_ = self.chosen_line_ = None
        if self.pca_scores is not None:
            (self.pca_line_,) = ax.plot(
                self.pca_sizes, self.pca_scores, "s--", color="C1", label="PCA"
            )
        if self.chosen is not None:
            self.chosen_line_ = ax.axvline(
                self.chosen, color="0.5", linestyle=":", label=f"chosen ({self.chosen})"
            )
        ax.set_xlabel("Bottleneck size (n_components)")
        ax.set_ylabel("Held-out reconstruction R²")
        ax.legend(loc="lower right")
        if self.estimator_name is not None:
            ax.set_title(self.estimator_name)
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_estimator(cls, estimator, X=None, *, ax=None):
        """Plot the bottleneck scores of an autoencoder fitted with a float size.

        Parameters
        ----------
        estimator : estimator instance
            A skae autoencoder fitted with a float ``n_components``.

        X : array-like of shape (n_samples, n_features), default=None
            The training data. When given, PCA is fitted on the same
            training rows and scored on the same held-out rows
            (``validation_fraction`` of X, split as the estimator split it)
            at the same sizes, and drawn too.

        ax : matplotlib Axes, default=None
            Axes to draw on. None creates a new figure and axes.

        Returns
        -------
        display : BottleneckCurveDisplay
            Object that stores the computed values and the drawn artists.
        """
        _pyplot("BottleneckCurveDisplay.from_estimator")
        check_is_fitted(estimator)
        scores = getattr(estimator, "bottleneck_scores_", None)
        if not scores:
            raise ValueError(
                f"{_estimator_name(estimator)} has no bottleneck_scores_: fit it "
                "with a float n_components (e.g. 0.9) to search the bottleneck."
            )
        sizes = sorted(scores)
        pca_sizes = pca_scores = None
        if X is not None:
            pca_sizes, pca_scores = _pca_scores(estimator, X, sizes)
        display = cls(
            sizes=sizes,
            scores=[scores[k] for k in sizes],
            pca_sizes=pca_sizes,
            pca_scores=pca_scores,
            chosen=estimator.n_components_,
            estimator_name=_estimator_name(estimator),
        )
        return display.plot(ax=ax)


def _pca_scores(estimator, X, sizes):
    """PCA's held-out R² at ``sizes`` on the estimator's own split of X."""
    from sklearn.decomposition import PCA
    from sklearn.utils.validation import check_array

    from ._data import split_rows

    X = check_array(X, dtype=np.float64)
    # The estimator's own split, from the seed its fit drew.
    seed = estimator._seed
    train, valid = split_rows(X.shape[0], estimator.validation_fraction, seed)
    held_out = X[valid]
    center = X.mean(axis=0)  # as the estimator's R²: around the data's mean
    total = np.sum((held_out - center) ** 2)
    usable = [k for k in sizes if k <= min(len(train), X.shape[1])]
    r2 = []
    for k in usable:
        pca = PCA(n_components=k).fit(X[train])
        error = np.sum((pca.inverse_transform(pca.transform(held_out)) - held_out) ** 2)
        r2.append(1 - error / total if total > 0 else 1.0)
    return usable, r2
