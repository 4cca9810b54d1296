"""Exceptions that name the culprit; the CLI maps each class to one exit code.

Exit codes: 2 a usage/configuration problem (unknown metric, dataset or setting), 3 bad input data
(missing file or field, duplicate id, label outside its scale, undecodable line), 4 a model that is
not available, 5 a run or cache problem.
"""


class FactbenchError(Exception):
    """Base class; ``exit_code`` is what the CLI exits with."""

    exit_code = 1


class ConfigError(FactbenchError):
    """An unknown name or an invalid setting given by the user."""

    exit_code = 2


class DataError(FactbenchError):
    """Bad input data. The message names the file, the record and the problem."""

    exit_code = 3

    def __init__(self, problem: str, *, path=None, record=None):
        where = []
        if path is not None:
            where.append(str(path))
        if record is not None:
            where.append(f"record {record}")
        self.problem, self.path, self.record = problem, path, record
        super().__init__(f"{': '.join(where)}: {problem}" if where else problem)


class ModelUnavailableError(FactbenchError):
    """A model could not be found locally and may not be downloaded."""

    exit_code = 4


class RunError(FactbenchError):
    """A run directory or cache that cannot be used as asked."""

    exit_code = 5
