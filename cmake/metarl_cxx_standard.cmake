# The C++ standard metarl compiles with: at least C++17 (the public headers use
# inline variables, among others) and at least what the LibTorch that was found
# requires. Debian's LibTorch 1.13 and pip's 2.x up to 2.12 need C++17; from 2.13 on
# PyTorch's headers need C++20 (ATen/ATen.h stops with #error below it).
#
# What a LibTorch requires is read from three places, the highest wins:
#   - the imported `torch` target's CXX_STANDARD property (TorchConfig.cmake sets it:
#     14 in 1.13, 17 in 2.x, 20 from 2.13);
#   - its INTERFACE_COMPILE_FEATURES (cxx_std_NN), which newer TorchConfig.cmake add;
#   - the guard in ATen/ATen.h, `__cplusplus < YYYYMML`, which every release has had:
#     YYYY - 2000 is the standard (201402L → 14, 201703L → 17, 202002L → 20). This
#     one needs no CMake cooperation from the LibTorch.
#
# metarl_torch_cxx_standard(OUT): the standard the found LibTorch needs, as a number.
function(metarl_torch_cxx_standard out)
  set(required 0)
  if(TARGET torch)
    get_target_property(target_standard torch CXX_STANDARD)
    if(target_standard MATCHES "^[0-9]+$" AND target_standard GREATER required)
      set(required ${target_standard})
    endif()
    get_target_property(features torch INTERFACE_COMPILE_FEATURES)
    if(features)
      foreach(feature IN LISTS features)
        if(feature MATCHES "^cxx_std_([0-9]+)$" AND CMAKE_MATCH_1 GREATER required)
          set(required ${CMAKE_MATCH_1})
        endif()
      endforeach()
    endif()
  endif()
  foreach(dir IN LISTS TORCH_INCLUDE_DIRS)
    if(EXISTS "${dir}/ATen/ATen.h")
      # Only the first lines hold the guard; reading them is cheap.
      file(STRINGS "${dir}/ATen/ATen.h" guards LIMIT_COUNT 20 REGEX "__cplusplus < 20[0-9][0-9][0-9][0-9]L")
      foreach(guard IN LISTS guards)
        if(guard MATCHES "__cplusplus < 20([0-9][0-9])[0-9][0-9]L")
          # 201402L is the year 2014, C++14; "14" with its leading zero stripped is 14.
          math(EXPR header_standard "${CMAKE_MATCH_1}")
          if(header_standard GREATER required)
            set(required ${header_standard})
          endif()
        endif()
      endforeach()
      break()
    endif()
  endforeach()
  set(${out} ${required} PARENT_SCOPE)
endfunction()

# Sets CMAKE_CXX_STANDARD for every metarl target: -DCMAKE_CXX_STANDARD=NN when given
# (refused below what LibTorch needs, naming both), otherwise the higher of 17 and
# LibTorch's requirement.
function(metarl_choose_cxx_standard)
  metarl_torch_cxx_standard(torch_standard)
  set(minimum 17)
  if(torch_standard GREATER minimum)
    set(minimum ${torch_standard})
  endif()
  if(DEFINED CMAKE_CXX_STANDARD)
    if(CMAKE_CXX_STANDARD LESS minimum)
      message(FATAL_ERROR "CMAKE_CXX_STANDARD=${CMAKE_CXX_STANDARD}: metarl with this LibTorch "
                          "(${TORCH_INCLUDE_DIRS}) needs C++${minimum} or later (LibTorch asks for C++${torch_standard}, "
                          "metarl for C++17); pass -DCMAKE_CXX_STANDARD=${minimum} or leave it unset")
    endif()
    set(chosen ${CMAKE_CXX_STANDARD})
  else()
    set(chosen ${minimum})
  endif()
  message(STATUS "metarl: C++${chosen} (LibTorch needs C++${torch_standard}, metarl C++17)")
  set(CMAKE_CXX_STANDARD ${chosen} PARENT_SCOPE)
  # What code that includes metarl's torch-using headers needs (installed targets).
  set(METARL_TORCH_CXX_STANDARD ${minimum} PARENT_SCOPE)
endfunction()
