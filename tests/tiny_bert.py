"""A one-layer BERT classifier built from a config (no download) and a learnable task for it: shared by the tests
that train a real transformers Trainer. Import it after ``pytest.importorskip("transformers")``."""

import torch
import transformers


class Rows(torch.utils.data.Dataset):
    """Random token sequences whose label is whether token 1 occurs: learnable, no download."""

    def __init__(self, n=256):
        g = torch.Generator().manual_seed(0)
        self.ids = torch.randint(2, 40, (n, 12), generator=g)
        self.ids[: n // 2, 3] = 1
        self.labels = (self.ids == 1).any(dim=1).long()

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, i):
        return {"input_ids": self.ids[i], "labels": self.labels[i]}


def tiny_bert():
    """The same weights every time (seeded)."""
    config = transformers.BertConfig(vocab_size=40, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                     intermediate_size=32, max_position_embeddings=16, num_labels=2)
    torch.manual_seed(0)
    return transformers.BertForSequenceClassification(config)
