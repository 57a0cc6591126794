"""The resilience layer every carrier call goes through: policy, circuit breaker and the resilient wrapper.

Adapters make one attempt per call; ``ResilientCarrier`` adds timeouts, retries with backoff, a circuit
breaker, a concurrency limit and reconciliation by reference after an ambiguous create.
"""

from carriers.resilience.breaker import BreakerState, CircuitBreaker
from carriers.resilience.carrier import OnAttempt, ResilientCarrier
from carriers.resilience.policy import AttemptOutcome, AttemptRecord, CallPolicy

__all__ = [
    "AttemptOutcome",
    "AttemptRecord",
    "BreakerState",
    "CallPolicy",
    "CircuitBreaker",
    "OnAttempt",
    "ResilientCarrier",
]
