"""Training with PyTorch Lightning: the LightningModule, the data module, the CLI, export,
file translation and evaluation."""
