"""Model-card templates (package data); see recexplain.hub.model_card."""
