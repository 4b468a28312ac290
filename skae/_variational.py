"""VariationalAE: a generative autoencoder with a Gaussian latent space."""

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.utils._param_validation import Interval, StrOptions, validate_params
from sklearn.utils.validation import check_is_fitted

from ._base import BaseAutoEncoder
from ._docstrings import substitute
from ._generative import (
    MIXTURE_ROWS,
    decoder_noise,
    draw_codes,
    fit_code_mixture,
)
from ._inference import check_finite_output
from ._penalties import (
    GaussianKLPenalty,
    NegativeELBO,
    ZeroLoss,
    reconstruction_log_likelihood,
)
from ._seeding import new_seed
from ._training import restore_on_failure
from ._validation import check_fitted_input
from .modules import GaussianAutoEncoder, variational_forward

# The decoder's likelihood for each reconstruction loss ("bce": Bernoulli).
_LIKELIHOODS = {"mse": "gaussian", "l1": "laplace"}

#: Posterior draws per row in score_samples: fixed standard normal draws,
#: shared by every row, so a row's score is deterministic and does not
#: depend on the other rows of the call.
N_SCORE_DRAWS = 16


@substitute(
    tol=(
        "5e-3",
        "Here 5e-3, not 9e-4: the training score is an ELBO, which keeps "
        "creeping up as the KL term settles (and, on a table of a hundred "
        "rows, as the decoder memorises it). An ELBO is no R²: each epoch "
        "is asked for tol, with no 0.05 floor and no 2 % cap, on the "
        "mean of the last n_iter_no_change + 1 epochs' scores (sampled "
        "codes make single epochs noisy), and the 'learnt almost nothing' "
        "check does not apply. With batch_size='auto' splitting tables "
        "under 1600 rows into 8 batches, every bundled data set stops "
        "before max_iter (benchmarks/README.md, 'Generation').",
    ),
    n_iter_no_change=(
        6,
        "Here 6, not 8: at 8 a digits fit runs all 200 epochs.",
    ),
)
class VariationalAE(BaseAutoEncoder):
    r"""Variational autoencoder: a Gaussian latent space you can sample from.

    The encoder outputs a mean :math:`\mu(x)` and a log-variance
    :math:`\log\sigma^2(x)`; training decodes
    :math:`z = \mu + \sigma \odot \varepsilon`, :math:`\varepsilon \sim
    \mathcal N(0, I)` (the reparameterisation trick) and minimises the
    negative evidence lower bound (ELBO), per row:

    .. math:: L = \frac{1}{n} \sum_i \Big[ -\log p(x_i \mid z_i) + \beta \,
              \mathrm{KL}\big(\mathcal N(\mu_i, \sigma_i^2) \,\|\,
              \mathcal N(0, I)\big) \Big] .

    With ``loss="mse"`` (the default) the decoder is a Gaussian
    :math:`\mathcal N(g(z), s^2 I)` whose noise variance :math:`s^2` is
    learned: its maximum-likelihood value on each batch, a running average
    of which is kept in ``module_`` for scoring. A fixed variance would be
    too flat (or too sharp) for the data's scale and let the KL term switch
    latent units off (posterior collapse). ``loss="l1"`` is the same with a
    Laplace decoder and a learned scale; ``loss="bce"`` (with
    ``output_activation="sigmoid"``) a Bernoulli decoder, for binary data;
    ``loss="huber"`` is not a likelihood and is refused.
    The KL term keeps the codes near a standard normal and the latent space
    smooth, but the training codes do not fill :math:`\mathcal N(0, I)`,
    and the decoder's mean leaves out the noise around it: :meth:`sample`
    draws codes from a Gaussian mixture fitted to the training codes after
    training (``code_weights_``, ``code_means_``, ``code_covariances_``),
    decodes them and adds the decoder's noise per feature
    (``noise_scale_``). ``transform`` returns the posterior mean,
    deterministically; :meth:`sample_posterior` draws from the posterior;
    :meth:`score_samples` is each row's ELBO in nats.

    Read more in the :ref:`User Guide <variational>`.

    Parameters
    ----------
    n_components : int or float, default=8
        Size of the latent code. 8, not the 2 of the other autoencoders:
        samples from a 2-D code are told from real rows by a discriminator
        almost always (ROC AUC 0.99 on breast cancer against 0.6 at 8;
        benchmarks/README.md, "Generation"), and the KL term switches off
        the units a data set does not need. 0 gives codes with no columns
        and reconstructions equal to the training mean. A float in (0, 1)
        asks for the smallest code whose reconstruction R² on a held-out
        ``validation_fraction`` reaches it; the size chosen is stored in
        ``n_components_``.

    beta : float, default=0.3
        Weight of the KL term. 0.3, not the textbook 1: at 1 the KL term
        keeps a swiss roll's codes from carrying the roll (held-out
        :math:`R^2` near 0) and its samples lie off it (discriminator AUC
        0.89); at 0.3 the codes carry the data and :meth:`sample`'s mixture
        supplies the regular code distribution the prior no longer has
        (AUC 0.61 on the swiss roll, 0.65 on breast cancer;
        benchmarks/README.md, "Generation"). ``beta > 1`` gives a more
        regular, disentangled latent space at the cost of reconstruction.

    %(shared_parameters)s

    Attributes
    ----------
    %(shared_attributes)s

    code_weights_ : ndarray of shape (n_mixture,) or None
        The distribution :meth:`sample` draws codes from is a mixture of
        ``n_mixture`` full-covariance Gaussians
        (:class:`~sklearn.mixture.GaussianMixture`; one per 35 training
        rows, between 1 and 30: enough to follow curved code sets, few
        enough not to copy small tables) fitted to one posterior
        draw of the code of each training row (at most 10 000 rows) at the
        end of :term:`fit` (for :meth:`partial_fit`, of the rows of the
        last call): these are its weights. None for ``n_components=0``, as
        are the two below.

    code_means_ : ndarray of shape (n_mixture, `n_components_`) or None
        The mixture's means.

    code_covariances_ : ndarray of shape (n_mixture, k, k) or None
        The mixture's covariances, ``k = n_components_``.

    noise_scale_ : ndarray of shape (`n_features_in_`,) or None
        The decoder's noise per feature, in the data's units, that
        :meth:`sample` adds to the decoded mean: the root mean squared
        training residual ("mse", a Gaussian) or the mean absolute one
        ("l1", a Laplace scale). None for "bce".

    See Also
    --------
    AutoEncoderTransformer : The plain, deterministic autoencoder.
    sklearn.mixture.GaussianMixture : A classical generative model.

    References
    ----------
    .. [1] D. P. Kingma and M. Welling, "Auto-encoding variational Bayes",
       ICLR 2014.
    .. [2] I. Higgins et al., "beta-VAE: learning basic visual concepts with a
       constrained variational framework", ICLR 2017.
    .. [3] O. Rybkin, K. Daniilidis and S. Levine, "Simple and effective VAE
       training with calibrated decoders", ICML 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.model_selection import train_test_split
    >>> from skae import VariationalAE
    >>> X = load_digits().data / 16
    >>> X_train, X_test = train_test_split(X, test_size=0.25, random_state=0)
    >>> vae = VariationalAE(n_components=8, random_state=0).fit(X_train)
    >>> error = ((vae.reconstruct(X_test) - X_test) ** 2).sum()
    >>> total = ((X_test - X_train.mean(axis=0)) ** 2).sum()
    >>> bool(1 - error / total > 0.5)  # held-out R²: no posterior collapse
    True
    >>> int((vae.transform(X_test).var(axis=0) > 0.01).sum())  # active units
    8
    >>> elbo = vae.score(X_test)  # mean ELBO per row, in nats
    >>> vae.sample(5, random_state=0).shape
    (5, 64)
    >>> vae.sample_posterior(X_test[:3], random_state=0).shape
    (3, 8)
    """

    _parameter_constraints: dict = {
        **BaseAutoEncoder._parameter_constraints,
        "beta": [Interval(Real, 0, None, closed="left")],
        "loss": [StrOptions({"mse", "l1", "bce"})],
    }

    # "auto" splits tables under 1600 rows into 8 batches per epoch: with one
    # optimizer step per epoch standardized wine ran all 200 epochs at any
    # tol tried (2e-3 to 1e-2, where breast cancer already stopped early).
    _auto_min_batches = 8

    def __init__(
        self,
        n_components=8,
        *,
        beta=0.3,
        hidden_layer_sizes=(128,),
        architecture="mlp",
        input_shape=None,
        activation="relu",
        dropout=0.0,
        output_activation="identity",
        loss="mse",
        alpha=0.0,
        optimizer="adam",
        learning_rate_init=1e-3,
        batch_size="auto",
        max_iter=200,
        tol=5e-3,
        n_iter_no_change=6,
        early_stopping=False,
        validation_fraction=0.1,
        precision="float32",
        shuffle=True,
        random_state=None,
        device="auto",
        verbose=0,
        warm_start=False,
        callbacks=None,
    ):
        super().__init__(
            n_components,
            hidden_layer_sizes=hidden_layer_sizes,
            architecture=architecture,
            input_shape=input_shape,
            activation=activation,
            dropout=dropout,
            output_activation=output_activation,
            loss=loss,
            alpha=alpha,
            optimizer=optimizer,
            learning_rate_init=learning_rate_init,
            batch_size=batch_size,
            max_iter=max_iter,
            tol=tol,
            n_iter_no_change=n_iter_no_change,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            precision=precision,
            shuffle=shuffle,
            random_state=random_state,
            device=device,
            verbose=verbose,
            warm_start=warm_start,
            callbacks=callbacks,
        )
        self.beta = beta

    # The training score is 1 - negative ELBO / variance: a log-likelihood
    # with a learned noise level, not an R² (it can stay below 0 while the
    # network learns, or pass 1), so the stopping rule asks each epoch for
    # tol (on a running mean) and the "learnt nothing" check does not apply.
    _train_score_is_r2 = False

    # The loss selects the decoder: Gaussian or Laplace with a learned noise
    # scale, or Bernoulli.
    _network_parameters = (*BaseAutoEncoder._network_parameters, "loss")

    def _build_module(self, n_features, n_components):
        base = super()._build_module(n_features, n_components)
        return GaussianAutoEncoder(base, n_components)

    def _forward_fn(self):
        return variational_forward

    def _criterion(self):
        if self.loss == "bce":
            return super()._criterion()
        return ZeroLoss()  # NegativeELBO holds the reconstruction term

    def _penalty(self, X):
        if self.loss == "bce":
            return GaussianKLPenalty(self.beta)
        return NegativeELBO(self.beta, _LIKELIHOODS[self.loss])

    def score_samples(self, X):
        r"""Return each row's evidence lower bound (ELBO), in nats.

        .. math:: \mathrm{ELBO}(x) = \mathbb E_{q(z \mid x)}
                  \log p(x \mid z) - \mathrm{KL}\big(q(z \mid x)
                  \,\|\, \mathcal N(0, I)\big) \le \log p(x) ,

        a lower bound on the row's log-likelihood (a log-density in the
        units of X for "mse" and "l1", so it compares with
        :meth:`sklearn.decomposition.PCA.score_samples`). The expectation is
        averaged over 16 fixed draws of the posterior, the same for every
        row, so a row's score is deterministic. The KL term has weight 1
        whatever ``beta``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            The ELBO of each row (float64, as every skae score); higher
            means more likely.
        """
        X = check_fitted_input(self, X)
        wrapper = self.module_
        vae = _latent_model(wrapper)
        # The density of a standardized row, ``(x - mean) / scale``, is the
        # row's density times ``scale ** n_features``: the log-likelihood in
        # the user's units subtracts ``n_features * log(scale)``. The
        # Bernoulli likelihood is a probability of the rows themselves.
        standardize = wrapper.standardize
        likelihood = _LIKELIHOODS.get(self.loss)
        log_scale = 0.0 if likelihood is None else float(np.log(float(wrapper.scale)))
        param = next(wrapper.parameters())
        generator = torch.Generator(device="cpu").manual_seed(0)
        draws = torch.randn(N_SCORE_DRAWS, self.n_components_, generator=generator)
        draws = draws.to(param.device, param.dtype)
        n_features = self.n_features_in_

        def elbo(module, rows):
            x = standardize(rows)
            mu, logvar = vae.encode_distribution(x)
            std = torch.exp(0.5 * logvar)
            total = 0.0
            for eps in draws:
                reconstruction = vae.decode(mu + std * eps)
                if likelihood is None:  # Bernoulli, on the rows in [0, 1]
                    total = total - torch.nn.functional.binary_cross_entropy(
                        wrapper.unstandardize(reconstruction), rows, reduction="none"
                    ).sum(dim=1)
                else:
                    total = total + reconstruction_log_likelihood(
                        x, reconstruction, likelihood, vae.log_noise
                    )
            kl = -0.5 * (1.0 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)
            value = total / len(draws) - kl - n_features * log_scale
            return value[:, None]

        return self._map_batches(elbo, X, 1, "scores")[:, 0].astype(np.float64)

    def _fit(self, X, target=None, *, incremental):
        with restore_on_failure(self):
            super()._fit(X, target, incremental=incremental)
            self._fit_sampler(X)
        return self

    def _fit_sampler(self, X):
        """Fit what :meth:`sample` draws from on (a subset of) the rows."""
        X = check_fitted_input(self, X)
        seed = new_seed(self._seed)
        rng = np.random.default_rng(seed)
        if X.shape[0] > MIXTURE_ROWS:
            X = X[np.sort(rng.choice(X.shape[0], MIXTURE_ROWS, replace=False))]
        X = X.toarray() if sp.issparse(X) else X
        codes = self._posterior_draws(X, rng)
        mixture = fit_code_mixture(codes, seed)
        if mixture is None:
            self.code_weights_ = self.code_means_ = self.code_covariances_ = None
        else:
            self.code_weights_, self.code_means_, self.code_covariances_ = mixture
        likelihood = _LIKELIHOODS.get(self.loss)
        if likelihood is None:
            self.noise_scale_ = None
            self._binary_rows = bool(np.all((X == 0) | (X == 1)))
        else:
            # X is validated already: reconstruct's checks would warn about
            # the feature names a DataFrame had.
            self.noise_scale_ = decoder_noise(X, self._reconstruct(X), likelihood)

    def _posterior_draws(self, X, rng):
        """One draw of ``mu + sigma * eps`` per row (float64)."""
        wrapper = self.module_
        vae = _latent_model(wrapper)
        width = self.n_components_

        def moments(module, rows):
            mu, logvar = vae.encode_distribution(wrapper.standardize(rows))
            return torch.cat([mu, logvar], dim=1)

        both = self._map_batches(moments, X, 2 * width, "codes").astype(np.float64)
        mu, logvar = both[:, :width], both[:, width:]
        return mu + np.exp(0.5 * logvar) * rng.standard_normal(mu.shape)

    def sample_posterior(self, X, random_state=None):
        """Draw a code for each row from its posterior ``q(z | x)``.

        ``mu(x) + sigma(x) * eps`` with ``eps ~ N(0, I)``: the codes the
        network trains on. :meth:`transform` returns their mean, ``mu(x)``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to encode.
        random_state : int, RandomState instance or None, default=None
            Seeds the draws; an int gives the same codes every call.

        Returns
        -------
        Z : ndarray of shape (n_samples, `n_components_`)
            One posterior draw per row, of X's floating dtype.
        """
        check_is_fitted(self)
        X = check_fitted_input(self, X)
        rng = np.random.default_rng(new_seed(random_state))
        codes = self._posterior_draws(X, rng)
        return codes.astype(X.dtype, copy=False)

    @validate_params(
        {
            "n_samples": [Interval(Integral, 1, None, closed="left")],
            "random_state": ["random_state"],
            "noise": ["boolean"],
        },
        prefer_skip_nested_validation=True,
    )
    def sample(self, n_samples=1, random_state=None, *, noise=True):
        """Generate new rows from the fitted model.

        Codes are drawn from the mixture fitted to the training codes
        (``code_weights_``, ``code_means_``, ``code_covariances_``),
        decoded, and the decoder's noise is added: Gaussian ("mse") or
        Laplace ("l1") with ``noise_scale_`` per feature; for "bce",
        Bernoulli draws of the decoded probabilities when the training
        rows were binary, the probabilities themselves otherwise.

        Parameters
        ----------
        n_samples : int, default=1
            Number of rows to generate.
        random_state : int, RandomState instance or None, default=None
            Seeds the draws; an int gives the same rows every call.
        noise : bool, default=True
            Add the decoder's noise. False returns the decoded mean of
            each drawn code.

        Returns
        -------
        X_new : ndarray of shape (n_samples, `n_features_in_`)
            Generated rows, of the training data's dtype.
        """
        check_is_fitted(self)
        rng = np.random.default_rng(new_seed(random_state))
        if self.code_weights_ is None:
            codes = np.zeros((n_samples, 0))
        else:
            codes = draw_codes(
                self.code_weights_,
                self.code_means_,
                self.code_covariances_,
                n_samples,
                rng,
            )
        rows = self.inverse_transform(codes.astype(self.mean_.dtype)).astype(np.float64)
        if noise and self.noise_scale_ is not None:
            if self.loss == "l1":
                rows += rng.laplace(size=rows.shape) * self.noise_scale_
            else:
                rows += rng.standard_normal(rows.shape) * self.noise_scale_
        elif noise and self._binary_rows:
            rows = (rng.random(rows.shape) < np.clip(rows, 0, 1)).astype(np.float64)
        samples = rows.astype(self.mean_.dtype)
        check_finite_output(samples, "samples")
        return samples


def _latent_model(wrapper):
    """Return the Gaussian latent model inside ``wrapper``, or a :class:`_NoCode`."""
    for module in wrapper.modules():
        if isinstance(module, GaussianAutoEncoder):
            return module
    return _NoCode(wrapper.inner)  # n_components=0 builds no latent model


class _NoCode:
    """The latent model of ``n_components=0``: no latent variable at all.

    The posterior has no columns, so no KL term; the decoder gives the
    training mean for every code, with the noise level a trained
    decoder starts from: 1 on the network's scale, the root mean variance
    of the features. The ELBO is then the exact log-likelihood, for
    ``loss="mse"`` the isotropic Gaussian that ``PCA(n_components=0)``
    scores with.
    """

    n_components = 0
    log_noise = 0.0

    def __init__(self, inner):
        self.inner = inner

    def encode_distribution(self, x):
        """Return an empty mean and log-variance for each row."""
        return x[:, :0], x[:, :0]

    def decode(self, z):
        """Return the mean (zero on the network's scale) for each code."""
        return self.inner.decode(z)
