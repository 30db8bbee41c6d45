"""Hub plumbing: model-card rendering and pushing saved model folders."""
from .model_card import FAMILIES, METRIC_NAMES, render_model_card, template_path
from .push import push_model_folder, upload_plan

__all__ = ["FAMILIES", "METRIC_NAMES", "render_model_card", "template_path", "push_model_folder", "upload_plan"]
