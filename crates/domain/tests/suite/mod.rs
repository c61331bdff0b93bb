mod breaker;
