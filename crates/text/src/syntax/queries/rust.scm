; Rust symbols. Captures are described on `Spec::query` in `language.rs`.
(function_item name: (_) @name) @definition.function
(function_signature_item name: (_) @name) @definition.function
(struct_item name: (_) @name) @definition.struct
(union_item name: (_) @name) @definition.struct
(enum_item name: (_) @name) @definition.enum
(trait_item name: (_) @name) @definition.trait
(impl_item trait: (_) @trait type: (_) @name) @definition.impl
(impl_item !trait type: (_) @name) @definition.impl
(mod_item name: (_) @name body: (_)) @definition.module
(macro_definition name: (_) @name) @definition.macro
