"""VariationalAE: a generative autoencoder with a Gaussian latent space."""

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, validate_params
from sklearn.utils.validation import check_is_fitted

from ._base import BaseAutoEncoder
from ._docstrings import substitute
from ._penalties import GaussianKLPenalty
from .modules import GaussianAutoEncoder, variational_forward


@substitute()
class VariationalAE(BaseAutoEncoder):
    r"""Variational autoencoder: a Gaussian latent space you can sample from.

    The encoder outputs a mean :math:`\mu(x)` and a log-variance
    :math:`\log\sigma^2(x)`; training decodes
    :math:`z = \mu + \sigma \odot \varepsilon`, :math:`\varepsilon \sim
    \mathcal N(0, I)` (the reparameterisation trick) and minimises

    .. math:: L = \frac{1}{n} \sum_i \Big[ \ell(x_i, g(z_i)) + \beta \,
              \mathrm{KL}\big(\mathcal N(\mu_i, \sigma_i^2) \,\|\,
              \mathcal N(0, I)\big) \Big] ,

    both terms on the same per-sample scale: the reconstruction loss
    :math:`\ell` is summed over features (averaging it over features instead
    would weigh the KL term ``n_features`` times too heavily and collapse the
    posterior), the KL summed over latent units. The KL term keeps the codes
    near a standard normal, so decoding draws from :math:`\mathcal N(0, I)`
    gives new samples (:meth:`sample`) and the latent space is smooth.
    ``transform`` returns the posterior mean, deterministically.

    Read more in the :ref:`User Guide <variational>`.

    Parameters
    ----------
    %(n_components)s

    beta : float, default=1.0
        Weight of the KL term; ``beta > 1`` gives a more regular,
        disentangled latent space at the cost of reconstruction.

    %(shared_parameters)s

    Attributes
    ----------
    %(shared_attributes)s

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

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import VariationalAE
    >>> X = load_digits().data / 16
    >>> vae = VariationalAE(n_components=8, output_activation="sigmoid",
    ...                     max_iter=10, random_state=0).fit(X)
    >>> vae.sample(5, random_state=0).shape
    (5, 64)
    """

    _parameter_constraints: dict = {
        **BaseAutoEncoder._parameter_constraints,
        "beta": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        n_components=2,
        *,
        beta=1.0,
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
        tol=1e-4,
        n_iter_no_change=10,
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

    def _build_module(self, n_features, n_components):
        base = super()._build_module(n_features, n_components)
        return GaussianAutoEncoder(base, n_components)

    def _forward_fn(self):
        return variational_forward

    def _penalty(self, X):
        return GaussianKLPenalty(self.beta)

    @validate_params(
        {
            "n_samples": [Interval(Integral, 1, None, closed="left")],
            "random_state": ["random_state"],
        },
        prefer_skip_nested_validation=True,
    )
    def sample(self, n_samples=1, random_state=None):
        """Generate new rows by decoding draws from the prior N(0, I).

        Parameters
        ----------
        n_samples : int, default=1
            Number of rows to generate.
        random_state : int, RandomState instance or None, default=None
            Seeds the draws; an int gives the same rows every call.

        Returns
        -------
        X_new : ndarray of shape (n_samples, `n_features_in_`)
            Generated rows, of the training data's dtype.
        """
        check_is_fitted(self)
        module = self.module_
        param = next(module.parameters())
        seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
        generator = torch.Generator(device=param.device).manual_seed(int(seed))
        z = torch.randn(
            n_samples,
            self.n_components_,
            generator=generator,
            device=param.device,
            dtype=param.dtype,
        )
        return self._map_batches(
            lambda module, z: module.decode(z),
            z.cpu().numpy(),
            self.n_features_in_,
            "samples",
        )
