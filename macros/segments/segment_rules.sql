{#-
    Spec §5 rules shared by several segments, each written once.
-#}


{#-
    "In the last N days before as_of": the half-open interval
    (as_of - N, as_of]. An event exactly N before as_of is out; one at as_of
    is in; anything after as_of never counts.
-#}
{% macro segment_in_window(time_column, window_var) -%}
    ({{ time_column }} > {{ segment_as_of_minus(window_var) }} and {{ time_column }} <= {{ segment_as_of() }})
{%- endmacro %}


{#-
    An order placed in [t, as_of], both ends inclusive, is a purchase after
    the recommendation made at t. An order before t, or after as_of, is not.
-#}
{% macro segment_purchased_since(placed_at_column, recommended_at_column) -%}
    ({{ placed_at_column }} >= {{ recommended_at_column }} and {{ placed_at_column }} <= {{ segment_as_of() }})
{%- endmacro %}


{#-
    Order of a profile's events, latest first, for "the latest event" of a
    segment. Two events at the same instant are ordered by the smallest
    conversation_id, then the smallest event_id, so the choice is the same on
    every build.
-#}
{% macro segment_latest_first(time_column) -%}
    {{ time_column }} desc, {{ bytewise('conversation_id') }}, {{ bytewise('event_id') }}
{%- endmacro %}
