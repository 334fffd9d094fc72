"""A generated sentiment task whose labels depend on word order: `synthetic_sentiment`.

Each sequence is a "review": filler words with a few sentiment words among them.
Token ids: 0 padding, 1 out-of-vocabulary (reserved, never generated), 2 "not"
(`NOT_ID`), 3..12 positive words (`POSITIVE_IDS`), 13..22 negative words
(`NEGATIVE_IDS`), 23 and up filler words with Zipf frequencies
(`rank ** -1.75`: the commonest is half of all filler, a long tail is rare).

The label is the sign of the net polarity (`sentiment_score`): +1 for each
positive word, -1 for each negative word, and a "not" flips the sign of the NEXT
sentiment word. A sentiment word is negated with probability `negation_rate`
(0.2), its "not" right before it or one filler word earlier ("not good", "not
very good"). A sequence holds an odd number of sentiment words,
`1 + 2 * Binomial(length, 0.025)` capped at 5 (1, 3, 5 in 54 / 30 / 16 % of the
data), so the net polarity is never 0 and no tie has to be dropped. The labels are
exactly balanced: each sequence is drawn for a given label, and when its words
say otherwise every sentiment word swaps polarity.

Word order decides: a bag of words counts positive words, negative words and
"not"s, but cannot tell which word a "not" negates; in 23 % of the data the sign
of (positive - negative words) is the wrong label, and 37 % of the sequences
hold a "not".

Lengths are skewed (C8): lognormal with median 20 and sigma 0.8 for log(length),
clipped to [10, 200] (mean 28, 90th percentile 56, longest 200), so padding to
the longest would make every batch 3.6 times longer than the 90 % length that
`load_dataset` uses. Sentiment words are more likely toward the end (position
weights grow linearly, like a verdict), and padding truncates the START of the
10 % longer sequences (`kt_toolkit.data.sequences`): only 1.3 % of the labels
differ from the net polarity of the last 56 tokens.

Measured accuracy on the validation part, `load_dataset(DataConfig(
dataset="synthetic_sentiment"), seed=s)` for s = 0, 1, 2 (3,200 train / 800 val,
padding length 56-58), on 2 CPU cores, TensorFlow 2.21, Keras 3.15:

| model                                                    | s = 0  | s = 1  | s = 2  |
|----------------------------------------------------------|--------|--------|--------|
| bag of words: LogisticRegression on token counts (*)     | 78.6 % | 78.4 % | 76.6 % |
| bag of words and adjacent-word bigrams (*)               | 85.4 % | 86.1 % | 84.8 % |
| Embedding(1000, 64, mask_zero) -> GRU(64) -> Dense(1)    | 97.0 % | 93.4 % | 97.1 % |
| Embedding(1000, 64, mask_zero) -> Bidirectional(GRU(32)) | 96.6 % | 96.4 % | 94.9 % |

(*) the best of C = 0.01..10 (bigrams: 0.03..1), chosen on the validation part.

The recurrent models end in `Dense(1, "sigmoid")` and used Adam 1e-3, batch size
64, 10 epochs, no callbacks: 13-18 s of `fit` on an idle machine (up to 30 s when
it was shared), about 20 s for the whole script. They cross 90 % at epoch 7 or 8
(best epoch 94.9-97.8 %), after a few epochs at the bag-of-words level while they
learn the "not" rule; after 5 epochs they are at 75-86 %.

Example:

```python
from kt_toolkit.data.sequences import pad_sequences, padding_length
from kt_toolkit.data.synthetic import generate_sentiment

# Bigger and harder: longer reviews, more negations, farther from their word.
sequences, labels = generate_sentiment(20000, seed=1, median_length=40,
                                       negation_rate=0.3, max_negation_gap=3)
x = pad_sequences(sequences, padding_length(sequences))
```
"""

from collections.abc import Sequence

import numpy as np

from kt_toolkit.errors import invalid

__all__ = ["NEGATIVE_IDS", "NOT_ID", "OOV_ID", "PAD_ID", "POSITIVE_IDS",
           "generate_sentiment", "sentiment_label", "sentiment_score"]

PAD_ID = 0  # padding, masked by the models
OOV_ID = 1  # reserved for out-of-vocabulary words; never generated
NOT_ID = 2
NUM_POLAR_WORDS = 10
POSITIVE_IDS = range(3, 3 + NUM_POLAR_WORDS)
NEGATIVE_IDS = range(POSITIVE_IDS.stop, POSITIVE_IDS.stop + NUM_POLAR_WORDS)
FIRST_FILLER_ID = NEGATIVE_IDS.stop
MIN_LENGTH = 10
MAX_LENGTH_FACTOR = 10  # lengths are clipped to [MIN_LENGTH, 10 x median_length]
LENGTH_SIGMA = 0.8  # of log(length): the 90th percentile is 2.8 x the median
SENTIMENT_RATE = 0.05  # sentiment words per token, beyond the first
MAX_SENTIMENT_WORDS = 5


def _is_polar(tokens, ids):
    return (tokens >= ids.start) & (tokens < ids.stop)


def sentiment_score(tokens: Sequence[int] | np.ndarray) -> int:
    """Returns the net polarity of a token sequence, the rule that labels the task.

    Each positive word counts +1 and each negative word -1, except that a
    `NOT_ID` flips the sign of the NEXT sentiment word, whatever comes between
    them; two `NOT_ID` before one word cancel out, and a `NOT_ID` with no
    sentiment word after it does nothing. Padding and filler count 0.

    Example:

    ```python
    from kt_toolkit.data.synthetic import NEGATIVE_IDS, NOT_ID, POSITIVE_IDS
    from kt_toolkit.data.synthetic import sentiment_score

    good, bad, filler = POSITIVE_IDS[0], NEGATIVE_IDS[0], 500
    sentiment_score([good, filler, bad, filler, good])   # 1
    sentiment_score([NOT_ID, filler, good, bad])         # -2
    ```

    Args:
        tokens: 1-D sequence of token ids.

    Returns:
        Integer, the net polarity.
    """
    tokens = np.asarray(tokens).reshape(-1)
    polarity = _is_polar(tokens, POSITIVE_IDS).astype(np.int64)
    polarity -= _is_polar(tokens, NEGATIVE_IDS)
    score, flip = 0, False
    for token, sign in zip(tokens.tolist(), polarity.tolist()):
        if token == NOT_ID:
            flip = not flip
        elif sign:
            score += -sign if flip else sign
            flip = False
    return score


def sentiment_label(tokens: Sequence[int] | np.ndarray) -> int:
    """Returns the label of a token sequence: 1 when `sentiment_score` is positive.

    Args:
        tokens: 1-D sequence of token ids.

    Returns:
        Integer, 1 for a positive and 0 for a negative net polarity.

    Raises:
        ValueError: for a net polarity of 0, which has no label (the generator
            never makes one).
    """
    score = sentiment_score(tokens)
    if score == 0:
        raise ValueError("`tokens` must have a nonzero net polarity to have a label. "
                         "Received: a net polarity of 0.")
    return int(score > 0)


def _check(num_samples, vocabulary_size, median_length, negation_rate, max_negation_gap,
           filler_exponent):
    if not isinstance(num_samples, (int, np.integer)) or num_samples < 1:
        raise invalid("num_samples", "an integer of at least 1", num_samples)
    if not isinstance(vocabulary_size, (int, np.integer)) or (
            vocabulary_size <= FIRST_FILLER_ID):
        raise invalid("vocabulary_size", f"an integer of at least {FIRST_FILLER_ID + 1}",
                      vocabulary_size, f"Ids 0..{FIRST_FILLER_ID - 1} are padding, "
                      "out-of-vocabulary, 'not' and the sentiment words.")
    if not MIN_LENGTH <= median_length:
        raise invalid("median_length", f"a number of at least {MIN_LENGTH}",
                      median_length)
    if not 0.0 <= negation_rate <= 1.0:
        raise invalid("negation_rate", "a probability in [0, 1]", negation_rate)
    if not isinstance(max_negation_gap, (int, np.integer)) or max_negation_gap < 0:
        raise invalid("max_negation_gap", "an integer of at least 0", max_negation_gap)
    if not filler_exponent >= 0.0:
        raise invalid("filler_exponent", "a number of at least 0", filler_exponent,
                      "0 draws filler words uniformly.")


def _filler_sampler(rng, vocabulary_size, exponent):
    """Returns `draw(size)`: filler ids with Zipf frequencies (rank ** -exponent)."""
    ranks = np.arange(1, vocabulary_size - FIRST_FILLER_ID + 1, dtype=np.float64)
    cumulative = np.cumsum(ranks ** -exponent)
    cumulative /= cumulative[-1]

    def draw(size):
        picks = np.searchsorted(cumulative, rng.random(size), side="right")
        return FIRST_FILLER_ID + np.minimum(picks, len(ranks) - 1)

    return draw


def _review(rng, draw_filler, length, negation_rate, max_negation_gap):
    """One sequence of about `length` tokens: sentiment phrases among filler."""
    count = min(MAX_SENTIMENT_WORDS, 1 + 2 * rng.binomial(length, SENTIMENT_RATE / 2))
    words = rng.integers(POSITIVE_IDS.start, NEGATIVE_IDS.stop, size=count)
    negated = rng.random(count) < negation_rate
    gaps = np.where(negated, rng.integers(0, max_negation_gap + 1, size=count), 0)
    num_filler = max(0, length - int(np.sum(1 + negated * (1 + gaps))))
    body, gap_words = iter(draw_filler(num_filler)), iter(draw_filler(int(gaps.sum())))
    # Phrase positions among the filler, more likely toward the end (the verdict).
    weights = np.arange(1.0, num_filler + count + 1)
    slots = rng.choice(len(weights), size=count, replace=False, p=weights / weights.sum())
    is_phrase = np.zeros(len(weights), dtype=bool)
    is_phrase[slots] = True
    tokens, phrase = [], 0
    for item_is_phrase in is_phrase:
        if not item_is_phrase:
            tokens.append(next(body))
            continue
        if negated[phrase]:
            tokens.append(NOT_ID)
            tokens.extend(next(gap_words) for _ in range(gaps[phrase]))
        tokens.append(words[phrase])
        phrase += 1
    return np.asarray(tokens, dtype=np.int32)


def _swap_polarity(tokens):
    """Turns every positive word into a negative one and back: negates the score."""
    swapped = tokens.copy()
    swapped[_is_polar(tokens, POSITIVE_IDS)] += NUM_POLAR_WORDS
    swapped[_is_polar(tokens, NEGATIVE_IDS)] -= NUM_POLAR_WORDS
    return swapped


def generate_sentiment(num_samples: int = 4000, *, seed: int = 0, vocabulary_size: int = 1000,
                       median_length: float = 20, negation_rate: float = 0.2,
                       max_negation_gap: int = 1, filler_exponent: float = 1.75
                       ) -> tuple[list[np.ndarray], np.ndarray]:
    """Generates the token sequences and labels of the sentiment task.

    The defaults make the registry's `synthetic_sentiment` (with `seed=0`);
    see the module docstring for the task and the accuracies measured on it.
    The result depends only on the arguments.

    Example:

    ```python
    from kt_toolkit.data.synthetic import generate_sentiment, sentiment_label

    sequences, labels = generate_sentiment(100, seed=1)
    len(sequences), labels.mean()                  # (100, 0.5)
    sentiment_label(sequences[0]) == labels[0]     # True
    ```

    Args:
        num_samples: Integer, how many sequences. Defaults to `4000`.
        seed: Integer, the generator's random state. Defaults to `0`.
        vocabulary_size: Integer, token ids are below it; ids from
            `FIRST_FILLER_ID` (23) up are filler words. Defaults to `1000`.
        median_length: Number, the median sequence length (lognormal, clipped to
            `[10, 10 * median_length]`). Defaults to `20`.
        negation_rate: Float in [0, 1], the chance that a sentiment word is
            negated by a `NOT_ID` before it. Higher is harder for a bag of words
            (0.5 leaves it at chance). Defaults to `0.2`.
        max_negation_gap: Integer, up to how many filler words come between a
            `NOT_ID` and its word (uniform from 0). Defaults to `1`.
        filler_exponent: Float, filler words have Zipf frequencies
            `rank ** -filler_exponent`; lower means more rare words, which a
            small model memorizes instead of learning the rule. Defaults to `1.75`.

    Returns:
        Tuple `(sequences, labels)`: a list of 1-D int32 arrays (no padding, no
        `PAD_ID` or `OOV_ID`) and an int64 array of 0/1 labels, exactly half
        of them 1 (one more 0 when `num_samples` is odd).

    Raises:
        ConfigError: for an argument out of its range.
    """
    _check(num_samples, vocabulary_size, median_length, negation_rate, max_negation_gap,
           filler_exponent)
    rng = np.random.default_rng(seed)
    draw_filler = _filler_sampler(rng, vocabulary_size, float(filler_exponent))
    labels = rng.permutation(np.arange(num_samples) % 2).astype(np.int64)
    lengths = np.clip(np.round(rng.lognormal(np.log(median_length), LENGTH_SIGMA,
                                             size=num_samples)),
                      MIN_LENGTH, MAX_LENGTH_FACTOR * median_length).astype(int)
    sequences = []
    for label, length in zip(labels, lengths):
        tokens = _review(rng, draw_filler, length, negation_rate, max_negation_gap)
        # An odd number of sentiment words: the score is never 0. Swapping the
        # polarity of every word gives the drawn label without biasing anything else.
        if sentiment_label(tokens) != label:
            tokens = _swap_polarity(tokens)
        sequences.append(tokens)
    return sequences, labels
