; C++ symbols. `Foo::bar` out of its class is method `bar` of `Foo`; declarations inside
; a class body (`void run();`, `virtual ~Base();`) are methods.
(function_definition declarator: (_) @declarator) @definition.function
(declaration
  declarator: [
    (function_declarator declarator: [(identifier) (qualified_identifier) (destructor_name) (operator_name)])
    (pointer_declarator declarator: (function_declarator declarator: [(identifier) (qualified_identifier) (operator_name)]))
    (reference_declarator (function_declarator declarator: [(identifier) (qualified_identifier) (operator_name)]))
  ] @declarator) @definition.function
(field_declaration
  declarator: [
    (function_declarator declarator: [(field_identifier) (destructor_name) (operator_name)])
    (pointer_declarator declarator: (function_declarator declarator: [(field_identifier) (operator_name)]))
    (reference_declarator (function_declarator declarator: [(field_identifier) (operator_name)]))
  ] @declarator) @definition.method
(class_specifier name: (_) @name body: (_)) @definition.class
(struct_specifier name: (_) @name body: (_)) @definition.struct
(union_specifier name: (_) @name body: (_)) @definition.struct
(enum_specifier name: (_) @name body: (_)) @definition.enum
(namespace_definition name: (_) @name body: (_)) @definition.module
(type_definition
  type: (struct_specifier !name body: (_) @body)
  declarator: (type_identifier) @name) @definition.struct
(type_definition
  type: (enum_specifier !name body: (_) @body)
  declarator: (type_identifier) @name) @definition.enum
