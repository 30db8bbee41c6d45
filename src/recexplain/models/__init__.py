"""Model families, one folder each (configuration_x.py + modeling_x.py): srp4ctr/ (SRP4CTR, DIN, BST),
explainer/, mi_estimator/. Import a family to register its Auto classes, e.g. `import recexplain.models.srp4ctr`."""
