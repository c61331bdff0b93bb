; Ruby symbols. A `def` inside a class or module is a method; `def self.x` always is.
(class name: (_) @name) @definition.class
(module name: (_) @name) @definition.module
(method name: (_) @name) @definition.function
(singleton_method name: (_) @name) @definition.method
