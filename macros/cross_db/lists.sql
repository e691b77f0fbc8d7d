{#-
    Lists (spec §7: `tags`, `products`, `channels`, ... are SQL lists): DuckDB lists, PostgreSQL arrays
    (a list of records is a `jsonb[]` there, see records.sql). Elements keep their order; positions are
    1-based. A NULL list stays NULL through list_map and list_where.
-#}

{#- Number of elements of a list. -#}
{% macro list_length(list) -%}
    {{- return(adapter.dispatch('list_length', 'customer_agent_warehouse')(list)) -}}
{%- endmacro %}

{% macro default__list_length(list) -%}cardinality({{ list }}){%- endmacro %}

{% macro duckdb__list_length(list) -%}len({{ list }}){%- endmacro %}

{% macro spark__list_length(list) -%}size({{ list }}){%- endmacro %}


{#- Each element `element` of a list mapped to `expression` (a SQL expression that reads `element`), in order. -#}
{% macro list_map(list, element, expression) -%}
    {{- return(adapter.dispatch('list_map', 'customer_agent_warehouse')(list, element, expression)) -}}
{%- endmacro %}

{% macro default__list_map(list, element, expression) -%}
    case
        when {{ list }} is not null then array(
            select {{ expression }}
            from unnest({{ list }}) with ordinality as list_elements ({{ element }}, list_position)
            order by list_position
        )
    end
{%- endmacro %}

{% macro duckdb__list_map(list, element, expression) -%}
    list_transform({{ list }}, lambda {{ element }}: {{ expression }})
{%- endmacro %}

{% macro spark__list_map(list, element, expression) -%}
    transform({{ list }}, {{ element }} -> {{ expression }})
{%- endmacro %}


{#- The elements `element` of a list for which `condition` (reading `element`) is true, in order. -#}
{% macro list_where(list, element, condition) -%}
    {{- return(adapter.dispatch('list_where', 'customer_agent_warehouse')(list, element, condition)) -}}
{%- endmacro %}

{% macro default__list_where(list, element, condition) -%}
    case
        when {{ list }} is not null then array(
            select {{ element }}
            from unnest({{ list }}) with ordinality as list_elements ({{ element }}, list_position)
            where {{ condition }}
            order by list_position
        )
    end
{%- endmacro %}

{% macro duckdb__list_where(list, element, condition) -%}
    list_filter({{ list }}, lambda {{ element }}: {{ condition }})
{%- endmacro %}

{% macro spark__list_where(list, element, condition) -%}
    filter({{ list }}, {{ element }} -> {{ condition }})
{%- endmacro %}


{#- Each element mapped to `expression` (reading `element`), keeping the mapped values for which `condition` holds. -#}
{% macro list_map_where(list, element, expression, condition) -%}
    {{- return(adapter.dispatch('list_map_where', 'customer_agent_warehouse')(list, element, expression, condition)) -}}
{%- endmacro %}

{% macro default__list_map_where(list, element, expression, condition) -%}
    case
        when {{ list }} is not null then array(
            select mapped_elements.{{ element }}
            from (
                select
                    {{ expression }} as {{ element }},
                    list_position
                from unnest({{ list }}) with ordinality as list_elements ({{ element }}, list_position)
            ) as mapped_elements
            where {{ condition }}
            order by mapped_elements.list_position
        )
    end
{%- endmacro %}

{% macro duckdb__list_map_where(list, element, expression, condition) -%}
    list_filter(list_transform({{ list }}, lambda {{ element }}: {{ expression }}), lambda {{ element }}: {{ condition }})
{%- endmacro %}

{% macro spark__list_map_where(list, element, expression, condition) -%}
    filter(transform({{ list }}, {{ element }} -> {{ expression }}), {{ element }} -> {{ condition }})
{%- endmacro %}


{#- In a select list: one output row per element of the list (none for an empty or NULL list). -#}
{% macro unnest_list(list) -%}
    {{- return(adapter.dispatch('unnest_list', 'customer_agent_warehouse')(list)) -}}
{%- endmacro %}

{% macro default__unnest_list(list) -%}unnest({{ list }}){%- endmacro %}

{% macro spark__unnest_list(list) -%}explode({{ list }}){%- endmacro %}


{#- In a select list: one output row per element, as columns `element` and its 1-based `position`. -#}
{% macro unnest_list_with_position(list, element, position) -%}
    {{- return(adapter.dispatch('unnest_list_with_position', 'customer_agent_warehouse')(list, element, position)) -}}
{%- endmacro %}

{% macro default__unnest_list_with_position(list, element, position) -%}
    generate_subscripts({{ list }}, 1) as {{ position }},
    unnest({{ list }}) as {{ element }}
{%- endmacro %}

{% macro spark__unnest_list_with_position(list, element, position) -%}
    inline(transform({{ list }}, ({{ element }}, list_index) -> named_struct(
        '{{ position }}', list_index + 1, '{{ element }}', {{ element }}
    )))
{%- endmacro %}


{#- The element at a 1-based position (NULL beyond the end). -#}
{% macro list_element(list, position) -%}
    {{- return(adapter.dispatch('list_element', 'customer_agent_warehouse')(list, position)) -}}
{%- endmacro %}

{% macro default__list_element(list, position) -%}({{ list }})[{{ position }}]{%- endmacro %}

{% macro spark__list_element(list, position) -%}element_at({{ list }}, {{ position }}){%- endmacro %}


{#-
    Aggregate: the distinct non-null values of `expression` (rows where `condition` holds, when given),
    as a list sorted byte by byte; NULL when there is none.
-#}
{% macro sorted_distinct_agg(expression, condition=none) -%}
    {{- return(adapter.dispatch('sorted_distinct_agg', 'customer_agent_warehouse')(expression, condition)) -}}
{%- endmacro %}

{% macro default__sorted_distinct_agg(expression, condition=none) -%}
    array_agg(distinct {{ bytewise(expression) }} order by {{ bytewise(expression) }})
    filter (where {{ expression }} is not null{% if condition %} and ({{ condition }}){% endif %})
{%- endmacro %}

{% macro duckdb__sorted_distinct_agg(expression, condition=none) -%}
    list_sort(list_distinct(list({{ expression }}){% if condition %} filter (where {{ condition }}){% endif %}))
{%- endmacro %}

{#- Spark: as DuckDB, NULL when no row qualifies, an empty list when the qualifying values are all NULL. -#}
{% macro spark__sorted_distinct_agg(expression, condition=none) -%}
    case
        when count(1){% if condition %} filter (where {{ condition }}){% endif %} > 0
            then array_sort(array_distinct(collect_list({{ expression }}){% if condition %} filter (where {{ condition }}){% endif %}))
    end
{%- endmacro %}


{#-
    Aggregate: the distinct non-null elements of the lists in `list_expression` (rows where `condition`
    holds, when given), flattened into one list sorted byte by byte; NULL when there is none.
-#}
{% macro sorted_distinct_flatten_agg(list_expression, condition=none) -%}
    {{- return(adapter.dispatch('sorted_distinct_flatten_agg', 'customer_agent_warehouse')(list_expression, condition)) -}}
{%- endmacro %}

{% macro default__sorted_distinct_flatten_agg(list_expression, condition=none) -%}
    (
        select array_agg(distinct {{ bytewise('flattened.element') }} order by {{ bytewise('flattened.element') }})
        from unnest(
            {{ target.schema }}.ca_array_cat_agg({{ list_expression }})
            {%- if condition %} filter (where {{ condition }}){% endif %}
        ) as flattened (element)
        where flattened.element is not null
    )
{%- endmacro %}

{% macro duckdb__sorted_distinct_flatten_agg(list_expression, condition=none) -%}
    list_sort(list_distinct(flatten(list({{ list_expression }}){% if condition %} filter (where {{ condition }}){% endif %})))
{%- endmacro %}

{% macro spark__sorted_distinct_flatten_agg(list_expression, condition=none) -%}
    case
        when count(1){% if condition %} filter (where {{ condition }}){% endif %} > 0
            then array_sort(array_compact(array_distinct(flatten(
                collect_list({{ list_expression }}){% if condition %} filter (where {{ condition }}){% endif %}))))
    end
{%- endmacro %}


{#- A list's distinct non-null elements sorted byte by byte (e.g. to check that a list is sorted and distinct). -#}
{% macro list_sort_distinct(list) -%}
    {{- return(adapter.dispatch('list_sort_distinct', 'customer_agent_warehouse')(list)) -}}
{%- endmacro %}

{% macro default__list_sort_distinct(list) -%}
    case
        when {{ list }} is not null then array(
            select distinct {{ bytewise('list_elements.element') }}
            from unnest({{ list }}) as list_elements (element)
            where list_elements.element is not null
            order by 1
        )
    end
{%- endmacro %}

{% macro duckdb__list_sort_distinct(list) -%}list_sort(list_distinct({{ list }})){%- endmacro %}

{% macro spark__list_sort_distinct(list) -%}array_sort(array_compact(array_distinct({{ list }}))){%- endmacro %}
