; Go symbols. A method's container is its receiver's type.
(function_declaration name: (_) @name) @definition.function
(method_declaration
  receiver: (parameter_list
    (parameter_declaration
      type: [
        (type_identifier) @container
        (pointer_type (type_identifier) @container)
        (generic_type type: (type_identifier) @container)
        (pointer_type (generic_type type: (type_identifier) @container))
      ]))
  name: (_) @name) @definition.method
(type_spec
  name: (_) @name
  type: (struct_type (field_declaration_list) @body)) @definition.struct
(type_spec
  name: (_) @name
  type: (interface_type) @body) @definition.interface
