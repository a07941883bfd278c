"""A stand-in for matplotlib that draws nothing: the corpus compares what scripts print, and
tutorials and notebooks plot along the way. Every name is a `Nothing` that accepts any call,
attribute, index or unpacking into two (`fig, ax = plt.subplots()`) and gives a `Nothing` back.
Both the torch and the gradspec run import it (matplotlib is no dependency of gradspec)."""


class Nothing:
    def __call__(self, *args, **kwargs):
        return self

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return self

    def __getitem__(self, index):
        return self

    def __iter__(self):
        return iter((self, self))

    def __repr__(self):
        return "<matplotlib stand-in>"


def __getattr__(name):
    return Nothing()
