
_cio_sec_completion() {
    local IFS=$'
'
    COMPREPLY=( $( env COMP_WORDS="${COMP_WORDS[*]}" \
                   COMP_CWORD=$COMP_CWORD \
                   _CIO_SEC_COMPLETE=complete_bash $1 ) )
    return 0
}

complete -o default -F _cio_sec_completion cio-sec

