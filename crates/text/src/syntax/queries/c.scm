; C symbols. A function's name is the innermost identifier of its declarator;
; prototypes count (outside function bodies), so headers have an outline.
(function_definition declarator: (_) @declarator) @definition.function
(declaration
  declarator: [
    (function_declarator declarator: (identifier))
    (pointer_declarator declarator: (function_declarator declarator: (identifier)))
    (pointer_declarator declarator: (pointer_declarator declarator: (function_declarator declarator: (identifier))))
  ] @declarator) @definition.function
(struct_specifier name: (_) @name body: (_)) @definition.struct
(union_specifier name: (_) @name body: (_)) @definition.struct
(enum_specifier name: (_) @name body: (_)) @definition.enum
(type_definition
  type: (struct_specifier !name body: (_) @body)
  declarator: (type_identifier) @name) @definition.struct
(type_definition
  type: (union_specifier !name body: (_) @body)
  declarator: (type_identifier) @name) @definition.struct
(type_definition
  type: (enum_specifier !name body: (_) @body)
  declarator: (type_identifier) @name) @definition.enum
