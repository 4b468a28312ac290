"""scikit-learn's common estimator checks over every public estimator.

Expected failures, if any, are listed here with their reason (none today).
"""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from skae import (
    AutoEncoderOutlierDetector,
    AutoEncoderTransformer,
    ContractiveAE,
    DenoisingAE,
    EncoderClassifier,
    SparseAE,
    VariationalAE,
)

# Fast parameters: the checks fit hundreds of times on tiny data.
FAST = dict(hidden_layer_sizes=(8,), max_iter=5, random_state=0, device="cpu")

# `input_shape` with a -1 entry fits every feature count the checks use.
SHAPED = {"conv": (1, 1, -1), "lstm": (-1, 1), "gru": (-1, 1), "transformer": (-1, 1)}

ESTIMATORS = [
    AutoEncoderTransformer(**FAST),
    SparseAE(**FAST),
    SparseAE(sparsity="kl", **FAST),
    ContractiveAE(**FAST),
    DenoisingAE(**FAST),
    DenoisingAE(noise="salt_and_pepper", **FAST),
    VariationalAE(**FAST),
    AutoEncoderOutlierDetector(AutoEncoderTransformer(**FAST)),
    # A higher rate so sklearn's training-accuracy check passes in 10 epochs.
    EncoderClassifier(
        AutoEncoderTransformer(**FAST),
        max_iter=10,
        learning_rate_init=1e-2,
        random_state=0,
        device="cpu",
    ),
] + [
    AutoEncoderTransformer(architecture=name, input_shape=shape, **FAST)
    for name, shape in SHAPED.items()
]

# Every expected failure, with its reason.
EXPECTED_FAILED_CHECKS = {
    "EncoderClassifier": {
        "check_classifiers_classes": (
            "the check's last case labels the classes -1 and 1, and -1 marks an "
            "unlabelled row in scikit-learn's semi-supervised convention, which "
            "EncoderClassifier follows; scikit-learn exempts its own "
            "semi-supervised estimators from that case by name "
            "(_choose_check_classifiers_labels)"
        ),
    },
}


# scikit-learn's checks fit 2-feature data with the default n_components=2:
# a code as wide as the input, which skae warns about. The warning is right
# and expected there; pyproject.toml would make it an error.
@pytest.mark.filterwarnings("ignore::skae._warnings.BottleneckWarning")
@parametrize_with_checks(
    ESTIMATORS,
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS.get(
        type(est).__name__, {}
    ),
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
