from matplotlib import Nothing


def __getattr__(name):
    return Nothing()
