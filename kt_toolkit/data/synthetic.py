"""Draft: synthetic sentiment generator (docstring written after measuring)."""

import numpy as np

__all__ = ["NEGATIVE_IDS", "NOT_ID", "POSITIVE_IDS", "generate_sentiment",
           "sentiment_label", "sentiment_score"]

PAD_ID = 0
OOV_ID = 1
NOT_ID = 2
NUM_POLAR_WORDS = 50
POSITIVE_IDS = range(3, 3 + NUM_POLAR_WORDS)
NEGATIVE_IDS = range(POSITIVE_IDS.stop, POSITIVE_IDS.stop + NUM_POLAR_WORDS)
FIRST_FILLER_ID = NEGATIVE_IDS.stop
MIN_LENGTH = 10
LENGTH_SIGMA = 0.6
MAX_NEGATION_GAP = 2
FILLER_ZIPF_EXPONENT = 1.0


def _filler(rng, vocabulary_size, size):
    ranks = np.arange(1, vocabulary_size - FIRST_FILLER_ID + 1)
    weights = ranks ** -float(FILLER_ZIPF_EXPONENT)
    return FIRST_FILLER_ID + rng.choice(len(ranks), size=size, p=weights / weights.sum())


def _polarities(tokens):
    tokens = np.asarray(tokens)
    polarity = np.zeros(tokens.shape, dtype=np.int64)
    polarity[(tokens >= POSITIVE_IDS.start) & (tokens < POSITIVE_IDS.stop)] = 1
    polarity[(tokens >= NEGATIVE_IDS.start) & (tokens < NEGATIVE_IDS.stop)] = -1
    return polarity


def sentiment_score(tokens):
    score, flip = 0, False
    for token, polarity in zip(np.asarray(tokens).tolist(), _polarities(tokens).tolist()):
        if token == NOT_ID:
            flip = not flip
        elif polarity:
            score += -polarity if flip else polarity
            flip = False
    return score


def sentiment_label(tokens):
    score = sentiment_score(tokens)
    if score == 0:
        raise ValueError("tie")
    return int(score > 0)


def _sequence(rng, length, vocabulary_size, sentiment_rate, negation_rate):
    count = max(1, rng.binomial(length, sentiment_rate))
    words = rng.integers(POSITIVE_IDS.start, NEGATIVE_IDS.stop, size=count)
    phrases = []
    for word in words:
        if rng.random() < negation_rate:
            gap = rng.integers(0, MAX_NEGATION_GAP + 1)
            filler = _filler(rng, vocabulary_size, gap)
            phrases.append(np.concatenate([[NOT_ID], filler, [word]]))
        else:
            phrases.append(np.array([word]))
    used = sum(len(p) for p in phrases)
    num_filler = max(0, length - used)
    slots = np.sort(rng.choice(num_filler + count, size=count, replace=False))
    filler = _filler(rng, vocabulary_size, num_filler)
    parts, start = [], 0
    for slot, phrase in zip(slots, phrases):
        position = slot - len(parts) + start  # filler tokens before this phrase
        parts.append(phrase)
    # build explicitly
    out = []
    f = 0
    p = 0
    for i in range(num_filler + count):
        if p < count and slots[p] == i:
            out.append(phrases[p])
            p += 1
        else:
            out.append(filler[f:f + 1])
            f += 1
    return np.concatenate(out).astype(np.int32)


def _flip(tokens):
    tokens = tokens.copy()
    positive = (tokens >= POSITIVE_IDS.start) & (tokens < POSITIVE_IDS.stop)
    negative = (tokens >= NEGATIVE_IDS.start) & (tokens < NEGATIVE_IDS.stop)
    tokens[positive] += NUM_POLAR_WORDS
    tokens[negative] -= NUM_POLAR_WORDS
    return tokens


def generate_sentiment(num_samples=4000, *, seed=0, vocabulary_size=1000, median_length=40,
                       max_length=200, sentiment_rate=0.1, negation_rate=0.3):
    rng = np.random.default_rng(seed)
    targets = rng.permutation(np.arange(num_samples) % 2)
    sequences = []
    for target in targets:
        while True:
            length = int(np.clip(np.round(rng.lognormal(np.log(median_length), LENGTH_SIGMA)),
                                 MIN_LENGTH, max_length))
            tokens = _sequence(rng, length, vocabulary_size, sentiment_rate, negation_rate)
            score = sentiment_score(tokens)
            if score != 0:
                break
        if int(score > 0) != target:
            tokens = _flip(tokens)
        sequences.append(tokens)
    return sequences, targets.astype(np.int64)
