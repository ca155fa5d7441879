"""The closed vocabulary of the synthetic world: shapes, colours, sizes, frame regions, numbers.

Colours are saturated and far apart in both RGB and YUV, so they survive H.264's 4:2:0 chroma
subsampling and every answer is one word an exact-match judge can compare.
"""

from __future__ import annotations

SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "cross")

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "green": (40, 190, 70),
    "blue": (50, 90, 230),
    "yellow": (240, 220, 50),
    "purple": (160, 60, 210),
    "orange": (245, 140, 30),
    "white": (245, 245, 245),
    "cyan": (40, 210, 220),
}

# Size words, by object side as a fraction of min(W, H) (upper bounds of each bucket).
SIZE_WORDS: tuple[tuple[float, str], ...] = ((0.17, "small"), (0.24, "medium"), (1.0, "large"))

NUMBER_WORDS: tuple[str, ...] = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
)

# 3 x 3 grid of frame regions, row-major.
REGIONS: tuple[tuple[str, ...], ...] = (
    ("top left", "top", "top right"),
    ("left", "centre", "right"),
    ("bottom left", "bottom", "bottom right"),
)

OPTION_LETTERS = "ABCD"


def object_name(colour: str, shape: str) -> str:
    """The name an object goes by while it has `colour`: 'red circle'."""
    return f"{colour} {shape}"


def size_word(side: int, frame_min_side: int) -> str:
    fraction = side / frame_min_side
    return next(word for bound, word in SIZE_WORDS if fraction <= bound)


def number_word(n: int) -> str:
    return NUMBER_WORDS[n] if 0 <= n < len(NUMBER_WORDS) else str(n)


def region_of(cx: float, cy: float, width: int, height: int) -> str:
    """The 3 x 3 region of the frame holding the point (cx, cy)."""
    col = min(2, max(0, int(3 * cx / width)))
    row = min(2, max(0, int(3 * cy / height)))
    return REGIONS[row][col]


# Free-form answers are short canonical phrases of at least two words: the accuracy reward's
# ROUGE-2 is zero for any one-word reference, so a one-word answer could never score full marks.
def colour_answer(colour: str) -> str:
    return f"it turns {colour}"


def is_colour_answer(colour: str) -> str:
    return f"it is {colour}"


def count_answer(count: int) -> str:
    return f"{number_word(count)} object{'s' if count != 1 else ''}"


def region_answer(region: str) -> str:
    return f"in the {region}"


def state_answer(moving: bool) -> str:
    return "it is moving" if moving else "it is standing still"


def shape_answer(shape: str) -> str:
    return f"a {shape}"
