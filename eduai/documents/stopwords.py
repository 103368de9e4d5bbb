"""English stopwords: the one list the apps drop when they look for a text's content words.

Used by the tutor's lexical retrieval (BM25), the next-step key terms and the grading feedback's
missing terms. Two lists stay apart on purpose: the grading scorers' feature vocabulary
(`grading/scoring/text.py`: it keeps negations, and the committed cold-start coefficients were
fitted on it) and the answer-leak guard's short list of function words
(`tutoring/guardrails.py`: its word n-grams must keep modal verbs such as "must").
"""

ENGLISH_STOPWORDS = frozenset(
    """a about above after again against all also am an and any are aren't as at be because been
    before being below between both but by can can't cannot could couldn't did didn't do does
    doesn't doing don't down during each few for from further had hadn't has hasn't have haven't
    having he he'd he'll he's her here here's hers herself him himself his how how's i i'd i'll
    i'm i've if in into is isn't it it's its itself let's me more most mustn't my myself no nor
    not of off on once only or other ought our ours ourselves out over own same shan't she she'd
    she'll she's should shouldn't so some such than that that's the their theirs them themselves
    then there there's these they they'd they'll they're they've this those through to too under
    until up very was wasn't we we'd we'll we're we've were weren't what what's when when's where
    where's which while who who's whom why why's will with won't would wouldn't you you'd you'll
    you're you've your yours yourself yourselves s t""".split()  # noqa: SIM905
)
