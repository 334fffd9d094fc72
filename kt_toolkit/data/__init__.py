"""Datasets for tuning: registry, files, split, subsample, classes, statistics, padding.

`load_dataset(config, seed=...)` turns a `DataConfig` into a `Dataset` of raw
training and validation arrays plus the statistics a `Normalization` layer needs.
Importing this package imports neither Keras nor TensorFlow; only the
`keras.datasets` loaders do, when called.

Besides the registry, `generate_sentiment` makes bigger or harder versions of the
`synthetic_sentiment` task, and `padding_length`/`pad_sequences` pad token
sequences the way `load_dataset` does (C8).

Example:

```python
from kt_toolkit.config import DataConfig
from kt_toolkit.data import DATASETS, dataset_task, load_dataset

sorted(DATASETS)                                  # names a YAML file can use
dataset_task(DataConfig(dataset="diabetes"))      # 'regression', nothing loaded
data = load_dataset(DataConfig(dataset="wine"), seed=0)
print(data.summary())
```
"""

from kt_toolkit.data.dataset import Dataset, HeldOut, RawData
from kt_toolkit.data.loading import check_data_config, dataset_task, load_dataset, load_parts
from kt_toolkit.data.registry import DATASETS, DatasetEntry
from kt_toolkit.data.sequences import pad_sequences, padding_length
from kt_toolkit.data.synthetic import generate_sentiment, sentiment_label

__all__ = ["DATASETS", "Dataset", "DatasetEntry", "HeldOut", "RawData", "check_data_config",
           "dataset_task", "generate_sentiment", "load_dataset", "load_parts", "pad_sequences", "padding_length",
           "sentiment_label"]
