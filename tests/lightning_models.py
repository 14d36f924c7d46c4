"""The LightningModules and the Trainer the Lightning tests use (imports lightning: ~6 s, so test_lightning imports
this module only when its tests run, not when pytest collects them)."""

import lightning as L
import torch

from lrscope.lightning import LRScope  # noqa: F401  (the tests take it from here)


class Regression(L.LightningModule):
    """Least squares on a fixed random problem, plain SGD (with an optional schedule)."""

    def __init__(self, lr: float, schedule: bool = False):
        super().__init__()
        torch.manual_seed(0)
        self.net = torch.nn.Linear(8, 1)
        self.lr, self.schedule = lr, schedule

    def forward(self, x):
        return self.net(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        return torch.nn.functional.mse_loss(self(x), y)

    def configure_optimizers(self):
        opt = torch.optim.SGD(self.parameters(), lr=self.lr)
        if not self.schedule:
            return opt
        return {"optimizer": opt, "lr_scheduler": torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 1.0)}


def data(n=256):
    g = torch.Generator().manual_seed(1)
    x = 3 * torch.randn(n, 8, generator=g)
    y = x @ torch.randn(8, 1, generator=g) + 0.1 * torch.randn(n, 1, generator=g)
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=32, shuffle=True,
                                       generator=torch.Generator().manual_seed(2))


def fit(model, callback, max_steps=160):
    trainer = L.Trainer(max_steps=max_steps, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, callbacks=[callback])
    trainer.fit(model, data())
    return trainer


class LoggingRegression(Regression):
    """The loss only in training_step (no loss_fn to give), logged there, as most LightningModules do."""

    def training_step(self, batch, batch_idx):
        loss = super().training_step(batch, batch_idx)
        self.log("train_loss", loss)
        return {"loss": loss}


class ValidatedRegression(LoggingRegression):
    """With a validation step: the Trainer then has a validation DataLoader."""

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val_loss", torch.nn.functional.mse_loss(self(x), y))
