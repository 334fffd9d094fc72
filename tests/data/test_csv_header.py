"""`.csv` files with and without a header row: `data.header` (auto, true, false)."""

import logging

import numpy as np
import pytest

from kt_toolkit.config import DataConfig, config_from_dict
from kt_toolkit.data import load_dataset
from kt_toolkit.data.files import read_csv
from kt_toolkit.errors import ConfigError, DataError


def _write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _numbers(rows):
    return "".join(",".join(str(v) for v in row) + "\n" for row in rows)


def test_numeric_first_line_is_a_sample_not_a_header(tmp_path, caplog):
    rows = [[i, i * 0.5, i % 2] for i in range(10)]
    path = _write(tmp_path, _numbers(rows))
    with caplog.at_level(logging.INFO, logger="kt_toolkit.data.files"):
        raw = read_csv(path)
    assert len(raw.x) == 10  # the first sample is kept
    np.testing.assert_array_equal(raw.x[0], [0.0, 0.0])
    np.testing.assert_array_equal(raw.y, [i % 2 for i in range(10)])
    assert "no header found; columns named 0…2" in caplog.text
    # Columns are named 0..N-1: `target` picks one by index or by that name.
    by_name = read_csv(path, target="0")
    np.testing.assert_array_equal(by_name.y, np.arange(10))
    np.testing.assert_array_equal(read_csv(path, target=0).y, by_name.y)


def test_header_row_is_still_a_header(write_csv, caplog):
    path = write_csv(["a", "b", "y"], [[i, i * 2, i % 2] for i in range(10)])
    with caplog.at_level(logging.INFO, logger="kt_toolkit.data.files"):
        raw = read_csv(path, target="y")
    assert len(raw.x) == 10 and "no header" not in caplog.text


def test_header_false_reads_a_text_label_on_line_one_as_a_sample(tmp_path):
    text = "".join(f"{i},{i * 0.5},{'cat' if i % 2 else 'dog'}\n" for i in range(12))
    path = _write(tmp_path, text)
    assert len(read_csv(path).x) == 11  # auto: line 1 has text, so it is the header
    raw = read_csv(path, header=False)
    assert len(raw.x) == 12 and raw.y[0] == "dog"
    data = load_dataset(DataConfig(dataset=path, header=False, validation_split=0.25),
                        seed=0)
    assert len(data.x_train) + len(data.x_val) == 12


def test_header_false_names_line_one_of_a_bad_value(tmp_path):
    path = _write(tmp_path, "1,red,0\n2,3,1\n")
    with pytest.raises(DataError, match="'red' on line 1 of"):
        read_csv(path, header=False)


def test_header_true_takes_a_numeric_first_line_as_the_header(tmp_path):
    rows = [[2019, 2020, 2021]] + [[i, i + 1, i % 2] for i in range(6)]
    path = _write(tmp_path, _numbers(rows))
    raw = read_csv(path, header=True, target="2021")
    assert len(raw.x) == 6
    np.testing.assert_array_equal(raw.y, [i % 2 for i in range(6)])


@pytest.mark.parametrize("classes", [["setosa", "versicolor", "virginica"],
                                     ["malignant", "benign"]])
def test_scikit_learn_count_line_is_skipped(tmp_path, caplog, classes):
    """scikit-learn's iris.csv starts `150,4,setosa,versicolor,virginica`: a count of
    samples and features and the class names, then rows of features and a label."""
    rows = [[i * 0.1, i * 0.2, i * 0.3, i * 0.4, i % len(classes)] for i in range(9)]
    path = _write(tmp_path, f"9,4,{','.join(classes)}\n" + _numbers(rows))
    with caplog.at_level(logging.INFO, logger="kt_toolkit.data.files"):
        raw = read_csv(path)
    assert raw.x.shape == (9, 4)
    np.testing.assert_array_equal(raw.y, [i % len(classes) for i in range(9)])
    assert "no header found; columns named 0…4" in caplog.text
    assert f"'9,4,{','.join(classes)}'" in caplog.text  # says which line it skipped


def test_short_first_line_error_quotes_it_and_suggests_header_false(tmp_path):
    rows = [[i, i + 1, i + 2, i % 2] for i in range(5)]
    path = _write(tmp_path, "size,label\n" + _numbers(rows))
    with pytest.raises(DataError) as info:
        read_csv(path)
    message = str(info.value)
    assert info.value.key == "data.dataset"
    assert "rows must have 2 fields like the header" in message
    assert "line 1: 'size,label'" in message and "line 2 has 4" in message
    assert "data.header: false" in message


def test_numeric_first_line_of_another_length_is_quoted(tmp_path):
    rows = [[i, i + 1, i + 2, i % 2] for i in range(5)]
    path = _write(tmp_path, "7,3\n" + _numbers(rows))  # 5 rows: not a count line
    with pytest.raises(DataError) as info:
        read_csv(path)
    message = str(info.value)
    assert "like line 1: '7,3'" in message and "line 2 has 4" in message
    assert "data.header: true" in message


def test_header_option_is_checked_in_the_config():
    assert DataConfig().header == "auto"
    config = config_from_dict({"data": {"dataset": "x.csv", "header": False}})
    assert config.data.header is False
    with pytest.raises(ConfigError) as info:
        config_from_dict({"data": {"dataset": "x.csv", "header": "yes"}})
    assert info.value.key == "data.header"
    assert "`header` must be one of auto, true, false. Received: header='yes'." in str(
        info.value)


def test_header_of_a_registered_dataset_is_an_error():
    with pytest.raises(DataError) as info:
        load_dataset(DataConfig(dataset="digits", header=False), seed=0)
    assert info.value.key == "data.header" and "header=False" in str(info.value)
