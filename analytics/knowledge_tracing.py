"""Bayesian Knowledge Tracing (Corbett and Anderson 1995), vectorised with numpy.

Each skill is a two-state hidden Markov model: a student either knows it or not. Parameters per
skill: p_init (knows it before the first attempt), p_learn (unknown -> known after an attempt),
p_forget (known -> unknown; 0 in plain BKT), p_guess (correct while unknown) and p_slip (wrong
while known). Fitting is EM (Baum-Welch) over every (student, skill) sequence of every skill at
once, from several starting points per skill, keeping each skill's best likelihood. Beta priors
(pseudo-counts around ``COLD_START``) keep skills with few responses sensible, and guess and slip
stay at most 0.3 so that "known" keeps meaning "answers correctly".

Sequences are laid out time-major: row ``offsets[t] + i`` is step t of the i-th longest sequence,
so step t of all sequences still running is one contiguous slice.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

GUESS_SLIP_MAX = 0.3
PROBABILITY_FLOOR = 1e-4


@dataclass(frozen=True)
class BktParameters:
    p_init: float
    p_learn: float
    p_forget: float
    p_guess: float
    p_slip: float


# Cold-start values for a skill without data, and the centre of the priors while fitting.
COLD_START = BktParameters(p_init=0.4, p_learn=0.15, p_forget=0.0, p_guess=0.2, p_slip=0.1)
# With forgetting on, the prior centre of p_forget (plain BKT fixes it at 0).
FORGET_PRIOR = 0.02
# Prior strength, in pseudo-responses, of each parameter's Beta prior around COLD_START.
PRIOR_STRENGTH = 4.0


@dataclass
class ParameterArrays:
    """One entry per skill row; a view of many skills' parameters for vectorised updates."""

    p_init: FloatArray
    p_learn: FloatArray
    p_forget: FloatArray
    p_guess: FloatArray
    p_slip: FloatArray

    @classmethod
    def filled(cls, parameters: BktParameters, size: int) -> "ParameterArrays":
        return cls(*(np.full(size, value, dtype=np.float64) for value in _as_tuple(parameters)))

    def row(self, index: int) -> BktParameters:
        return BktParameters(*(float(array[index]) for array in self.arrays()))

    def take(self, rows: IntArray) -> "ParameterArrays":
        return ParameterArrays(*(array[rows] for array in self.arrays()))

    def arrays(self) -> tuple[FloatArray, ...]:
        return (self.p_init, self.p_learn, self.p_forget, self.p_guess, self.p_slip)


def _as_tuple(parameters: BktParameters) -> tuple[float, ...]:
    return (parameters.p_init, parameters.p_learn, parameters.p_forget, parameters.p_guess, parameters.p_slip)


@dataclass(frozen=True)
class SequenceBatch:
    """Many response sequences in the time-major layout (see the module docstring)."""

    observations: FloatArray  # time-major, values in [0, 1] (1 = correct)
    offsets: IntArray  # offsets[t]: first row of step t; offsets[-1] = number of rows
    skill_of_row: IntArray  # the skill row each time-major row belongs to
    sequence_skill: IntArray  # skill row of each sequence, longest sequence first
    order: IntArray  # time-major row -> position in the concatenated input sequences

    @property
    def steps(self) -> int:
        return len(self.offsets) - 1

    def active(self, step: int) -> int:
        return int(self.offsets[step + 1] - self.offsets[step])


def sequence_batch(sequences: Sequence[FloatArray], skills: Sequence[int]) -> SequenceBatch:
    """Lay out sequences (each one student's responses on one skill, in order) time-major."""
    lengths = np.array([len(sequence) for sequence in sequences], dtype=np.int64)
    if len(lengths) == 0 or lengths.min() < 1:
        raise ValueError("every sequence needs at least one response")
    by_length = np.argsort(-lengths, kind="stable")
    sorted_lengths = lengths[by_length]
    active_per_step = np.searchsorted(-sorted_lengths, -np.arange(sorted_lengths[0]), side="left")
    offsets = np.concatenate([[0], np.cumsum(active_per_step)]).astype(np.int64)
    input_starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    rank = np.repeat(np.arange(len(lengths)), sorted_lengths)
    step = np.arange(int(sorted_lengths.sum())) - np.repeat(
        np.cumsum(sorted_lengths) - sorted_lengths, sorted_lengths
    )
    time_major_row = offsets[step] + rank
    order = np.empty(len(rank), dtype=np.int64)
    order[time_major_row] = input_starts[by_length][rank] + step
    concatenated = np.concatenate(sequences).astype(np.float64)
    if concatenated.min() < 0 or concatenated.max() > 1:
        raise ValueError("responses must be scores between 0 and 1")
    sequence_skill = np.asarray(skills, dtype=np.int64)[by_length]
    skill_of_row = np.empty(len(rank), dtype=np.int64)
    skill_of_row[time_major_row] = sequence_skill[rank]
    return SequenceBatch(concatenated[order], offsets, skill_of_row, sequence_skill, order)


def _emission(observed: FloatArray, guess: FloatArray, slip: FloatArray) -> tuple[FloatArray, FloatArray]:
    """P(observation | unknown), P(observation | known); a fractional score is soft evidence."""
    return (
        observed * guess + (1 - observed) * (1 - guess),
        observed * (1 - slip) + (1 - observed) * slip,
    )


def predict_batch(batch: SequenceBatch, parameters: ParameterArrays) -> FloatArray:
    """P(correct) of every response from the same sequence's earlier responses only, in input order."""
    predicted = np.empty(len(batch.observations))
    known = parameters.p_init[batch.sequence_skill[: batch.active(0)]]
    for step in range(batch.steps):
        rows = slice(batch.offsets[step], batch.offsets[step + 1])
        known = known[: batch.active(step)]
        skill = batch.skill_of_row[rows]
        guess, slip = parameters.p_guess[skill], parameters.p_slip[skill]
        predicted[rows] = known * (1 - slip) + (1 - known) * guess
        if_unknown, if_known = _emission(batch.observations[rows], guess, slip)
        posterior = known * if_known / (known * if_known + (1 - known) * if_unknown)
        known = posterior * (1 - parameters.p_forget[skill]) + (1 - posterior) * parameters.p_learn[skill]
    result = np.empty_like(predicted)
    result[batch.order] = predicted
    return result


@dataclass
class _Expectations:
    log_likelihood: FloatArray
    known_at_start: FloatArray
    learned: FloatArray
    unknown_before_step: FloatArray
    forgot: FloatArray
    known_before_step: FloatArray
    correct_while_unknown: FloatArray
    unknown: FloatArray
    wrong_while_known: FloatArray
    known: FloatArray


def _forward(
    batch: SequenceBatch, parameters: ParameterArrays
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Scaled forward pass: filtered P(known) per row, scale factors, and both emissions."""
    guess, slip = parameters.p_guess[batch.skill_of_row], parameters.p_slip[batch.skill_of_row]
    if_unknown, if_known = _emission(batch.observations, guess, slip)
    filtered = np.empty(len(batch.observations))
    scale = np.empty(len(batch.observations))
    prior_known = parameters.p_init[batch.sequence_skill[: batch.active(0)]]
    for step in range(batch.steps):
        rows = slice(batch.offsets[step], batch.offsets[step + 1])
        if step:
            previous = filtered[batch.offsets[step - 1] : batch.offsets[step - 1] + batch.active(step)]
            skill = batch.skill_of_row[rows]
            prior_known = (
                previous * (1 - parameters.p_forget[skill]) + (1 - previous) * parameters.p_learn[skill]
            )
        joint_known = prior_known * if_known[rows]
        scale[rows] = joint_known + (1 - prior_known) * if_unknown[rows]
        filtered[rows] = joint_known / scale[rows]
    return filtered, scale, if_unknown, if_known


def _expectations(batch: SequenceBatch, parameters: ParameterArrays, skills: int) -> _Expectations:
    """E-step: expected state and transition counts per skill (forward-backward)."""
    filtered, scale, if_unknown, if_known = _forward(batch, parameters)
    # Away from exactly 0 or 1, so that evidence against a certain state still has weight.
    filtered = np.clip(filtered, 1e-9, 1 - 1e-9)
    # Backward messages, normalised per row (any per-row scale cancels out below); 1 at the end.
    beta_known = np.ones(len(filtered))
    beta_unknown = np.ones(len(filtered))
    learned = np.zeros(len(filtered))
    forgot = np.zeros(len(filtered))
    has_next = np.zeros(len(filtered))
    for step in range(batch.steps - 2, -1, -1):
        count = batch.active(step + 1)
        here = slice(batch.offsets[step], batch.offsets[step] + count)
        after = slice(batch.offsets[step + 1], batch.offsets[step + 2])
        skill = batch.skill_of_row[after]
        learn, forget = parameters.p_learn[skill], parameters.p_forget[skill]
        next_known = if_known[after] * beta_known[after]
        next_unknown = if_unknown[after] * beta_unknown[after]
        from_unknown = (1 - learn) * next_unknown + learn * next_known
        from_known = forget * next_unknown + (1 - forget) * next_known
        # Transition posteriors: each of the four (state, next state) terms over their sum.
        total = (1 - filtered[here]) * from_unknown + filtered[here] * from_known
        learned[here] = (1 - filtered[here]) * learn * next_known / total
        forgot[here] = filtered[here] * forget * next_unknown / total
        beta_unknown[here] = from_unknown / (from_unknown + from_known)
        beta_known[here] = from_known / (from_unknown + from_known)
        has_next[here] = 1.0
    known = filtered * beta_known
    known = known / (known + (1 - filtered) * beta_unknown)
    unknown = 1 - known
    observed = batch.observations
    first = slice(0, batch.active(0))

    def per_skill(values: FloatArray, skill_rows: IntArray = batch.skill_of_row) -> FloatArray:
        return np.bincount(skill_rows, weights=values, minlength=skills).astype(np.float64)

    return _Expectations(
        log_likelihood=per_skill(np.log(scale)),
        known_at_start=per_skill(known[first], batch.sequence_skill[first]),
        learned=per_skill(learned),
        unknown_before_step=per_skill(unknown * has_next),
        forgot=per_skill(forgot),
        known_before_step=per_skill(known * has_next),
        correct_while_unknown=per_skill(unknown * observed),
        unknown=per_skill(unknown),
        wrong_while_known=per_skill(known * (1 - observed)),
        known=per_skill(known),
    )


def _posterior_mean(hits: FloatArray, trials: FloatArray, prior: float) -> FloatArray:
    return (hits + PRIOR_STRENGTH * prior) / (trials + PRIOR_STRENGTH)


def _maximise(counts: _Expectations, sequences: FloatArray, forgetting: bool) -> ParameterArrays:
    """M-step with Beta priors centred on COLD_START, then the bounds."""
    floor, ceiling = PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR
    forget = _posterior_mean(counts.forgot, counts.known_before_step, FORGET_PRIOR)
    return ParameterArrays(
        p_init=np.clip(_posterior_mean(counts.known_at_start, sequences, COLD_START.p_init), floor, ceiling),
        p_learn=np.clip(
            _posterior_mean(counts.learned, counts.unknown_before_step, COLD_START.p_learn), floor, ceiling
        ),
        p_forget=np.clip(forget, floor, 0.5) if forgetting else np.zeros_like(forget),
        p_guess=np.clip(
            _posterior_mean(counts.correct_while_unknown, counts.unknown, COLD_START.p_guess),
            floor,
            GUESS_SLIP_MAX,
        ),
        p_slip=np.clip(
            _posterior_mean(counts.wrong_while_known, counts.known, COLD_START.p_slip), floor, GUESS_SLIP_MAX
        ),
    )


def _random_start(generator: np.random.Generator, size: int, forgetting: bool) -> ParameterArrays:
    return ParameterArrays(
        p_init=generator.uniform(0.05, 0.9, size),
        p_learn=generator.uniform(0.02, 0.4, size),
        p_forget=generator.uniform(0.0, 0.1, size) if forgetting else np.zeros(size),
        p_guess=generator.uniform(0.05, GUESS_SLIP_MAX, size),
        p_slip=generator.uniform(0.05, GUESS_SLIP_MAX, size),
    )


def fit(
    sequences: Sequence[FloatArray],
    skills: Sequence[int],
    *,
    skill_count: int,
    restarts: int = 4,
    iterations: int = 40,
    forgetting: bool = False,
    seed: int = 0,
) -> ParameterArrays:
    """Fit every skill's parameters by EM; skill rows 0..skill_count-1, one row per skill.

    Restarts are fitted together: restart r of skill s is row r * skill_count + s. The first
    start is COLD_START itself; each skill keeps the restart with the highest likelihood.
    """
    if any(not 0 <= skill < skill_count for skill in skills):
        raise ValueError(f"skills must be rows 0..{skill_count - 1}")
    generator = np.random.default_rng(seed)
    tiled_skills = [skill + restart * skill_count for restart in range(restarts) for skill in skills]
    batch = sequence_batch(list(sequences) * restarts, tiled_skills)
    rows = skill_count * restarts
    parameters = _random_start(generator, rows, forgetting)
    for value, array in zip(_as_tuple(COLD_START), parameters.arrays(), strict=True):
        array[:skill_count] = value
    sequences_per_row = np.bincount(batch.sequence_skill, minlength=rows).astype(np.float64)
    for _ in range(iterations):
        parameters = _maximise(_expectations(batch, parameters, rows), sequences_per_row, forgetting)
    likelihood = _expectations(batch, parameters, rows).log_likelihood.reshape(restarts, skill_count)
    best = likelihood.argmax(axis=0) * skill_count + np.arange(skill_count)
    return parameters.take(best)


def knowledge_update(p_known: float, score: float, parameters: BktParameters) -> float:
    """P(known) after one response with score in [0, 1] (a fraction is soft evidence), and the
    chance to learn (or forget) that follows it."""
    if_unknown, if_known = _emission(
        np.array([score]), np.array([parameters.p_guess]), np.array([parameters.p_slip])
    )
    posterior = p_known * if_known[0] / (p_known * if_known[0] + (1 - p_known) * if_unknown[0])
    return float(posterior * (1 - parameters.p_forget) + (1 - posterior) * parameters.p_learn)


def correct_probability(p_known: float, parameters: BktParameters) -> float:
    return p_known * (1 - parameters.p_slip) + (1 - p_known) * parameters.p_guess
