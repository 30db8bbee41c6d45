"""Rating-prediction metrics (RMSE, MAE with clipping) as a local `evaluate` module."""
import datasets
import evaluate
import numpy as np

_DESCRIPTION = """
Rating-prediction error, PETER's convention: predictions are first clipped to
[min_rating, max_rating], then `rmse` (root mean squared error) and `mae`
(mean absolute error) are computed against the true ratings, in rating units.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `float`): predicted ratings.
    references (`list` of `float`): true ratings.
    min_rating (`float`, defaults to 1), max_rating (`float`, defaults to 5): clipping range.
Returns:
    `dict` with `rmse` and `mae`.
Examples:
    >>> m = recexplain.metrics.load("rating")
    >>> m.compute(predictions=[5.7, 3.0], references=[5, 4])
    {'rmse': 0.7071..., 'mae': 0.5}
"""


def rating_errors(predictions, references, min_rating: float = 1.0, max_rating: float = 5.0) -> dict:
    """RMSE and MAE of predictions clipped to [min_rating, max_rating]."""
    if min_rating >= max_rating:
        raise ValueError(f"min_rating ({min_rating}) must be below max_rating ({max_rating})")
    pred = np.asarray(predictions, dtype=np.float64).ravel()
    ref = np.asarray(references, dtype=np.float64).ravel()
    if pred.shape != ref.shape or pred.size == 0:
        raise ValueError(f"need equally many predictions ({pred.size}) and references ({ref.size}), at least one")
    err = np.clip(pred, min_rating, max_rating) - ref
    return {"rmse": float(np.sqrt(np.mean(err**2))), "mae": float(np.mean(np.abs(err)))}


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Rating(evaluate.Metric):
    """RMSE and MAE for rating prediction."""

    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Value("float64"), "references": datasets.Value("float64")}
            ),
        )

    def _compute(self, predictions, references, min_rating: float = 1.0, max_rating: float = 5.0):
        return rating_errors(predictions, references, min_rating, max_rating)
