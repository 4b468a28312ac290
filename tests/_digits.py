"""The digits split shared by the quality tests (X/16, 75/25, random_state=0)."""

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split


def digits_split():
    X = (load_digits().data / 16).astype(np.float32)
    return train_test_split(X, test_size=0.25, random_state=0)


def mse(a, b):
    return float(np.mean((np.asarray(a) - np.asarray(b)) ** 2))
