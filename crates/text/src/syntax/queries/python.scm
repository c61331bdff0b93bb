; Python symbols. A `def` inside a class becomes a method; decorators belong to the
; definition (`decorated_definition` is a wrapper).
(class_definition name: (_) @name) @definition.class
(function_definition name: (_) @name) @definition.function
