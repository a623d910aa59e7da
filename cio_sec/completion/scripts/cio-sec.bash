# bash completion for cio-sec. Install: cio-sec completion install bash
# One request per TAB, answered by cio-sec without loading its full command line.

_cio_sec() {
    local -a response
    mapfile -t response < <(_CIO_SEC_COMPLETE=bash "$1" "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null)
    if [[ ${response[0]-} == files ]]; then
        compopt -o default 2>/dev/null
        COMPREPLY=()
    else
        COMPREPLY=("${response[@]:1}")
    fi
}

complete -F _cio_sec cio-sec
