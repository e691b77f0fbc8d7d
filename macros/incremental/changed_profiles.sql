{#-
    The profiles an incremental run of dim_profiles rebuilds, in one place: the profiles of the
    conversations and orders that changed since its watermark (before and after the change),
    and the profiles that received a version. Every profile on a full build.
-#}
{% macro changed_profiles(conversation_changes, order_changes, profile_versions) -%}
    select conversation_changes.profile_id
    from {{ conversation_changes }} as conversation_changes
    where {{ changed_since_watermark('conversation_changes.processed_at') }}

    union

    select conversation_changes.previous_profile_id as profile_id
    from {{ conversation_changes }} as conversation_changes
    where {{ changed_since_watermark('conversation_changes.processed_at') }}

    union

    select order_changes.profile_id
    from {{ order_changes }} as order_changes
    where {{ changed_since_watermark('order_changes.processed_at') }}

    union

    select order_changes.previous_profile_id as profile_id
    from {{ order_changes }} as order_changes
    where {{ changed_since_watermark('order_changes.processed_at') }}

    union

    select profile_versions.profile_id
    from {{ profile_versions }} as profile_versions
    where {{ changed_since_watermark('profile_versions.loaded_at') }}
{%- endmacro %}


{#- The pre-hook's key set of dim_profiles (macros/incremental/rebuilt_keys.sql). -#}
{% macro changed_profile_ids() -%}
    {{ changed_profiles(
        ref('int_conversations_changed'),
        ref('int_orders_changed'),
        ref('stg_marketing__profile_versions'),
    ) }}
{%- endmacro %}
